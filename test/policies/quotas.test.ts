/** Quotas from the settings: maxFacts and maxBytes per tenant, 403 QUOTA_EXCEEDED with the numbers, nothing partially written. */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function limited(url: string, settings: Record<string, unknown>) {
  const tenant = uniqueName('quota');
  const client = tenantApi(url, tenant);
  await tellOk(client, { predicate: 'seed', args: [0] });
  const put = await api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, settings);
  if (put.status !== 200) throw new Error(put.text);
  return client;
}

const facts = (from: number, n: number) => ({ facts: Array.from({ length: n }, (_, i) => ({ predicate: 'item', args: [from + i] })) });
const count = async (client: ReturnType<typeof tenantApi>) => (await client.post('/ask', { predicate: 'item', args: ['?x'], limit: 1000 })).json.results.length as number;

test('maxFacts › a tell past the quota is 403 QUOTA_EXCEEDED with the numbers, and none of its facts is stored', async (t) => {
  const client = await limited(t.context.server.url, { maxFacts: 10 });
  await tellOk(client, facts(0, 6)); // 7 with the seed
  const refused = await client.post('/tell', facts(100, 4));
  assertError(t, refused, 403, 'QUOTA_EXCEEDED');
  t.deepEqual(refused.json.details, { quota: 'maxFacts', limit: 10, current: 7, requested: 11 });
  t.is(await count(client), 6, 'nothing of the refused tell');
  await tellOk(client, facts(100, 3)); // exactly 10
  await tellOk(client, facts(0, 6)); // upserts add nothing: allowed at the limit
  assertError(t, await client.post('/tell', facts(200, 1)), 403, 'QUOTA_EXCEEDED');
  t.is((await client.post('/retract', { predicate: 'item', args: [0] })).json.retracted, 1);
  await tellOk(client, facts(200, 1)); // room again after a retraction
  t.is(await count(client), 9);
});

test('maxBytes › a tell whose facts would pass the byte quota is refused whole; concurrent tells never pass it together', async (t) => {
  const client = await limited(t.context.server.url, { maxBytes: 4000 });
  const refused = await client.post('/tell', { facts: Array.from({ length: 40 }, (_, i) => ({ predicate: 'note', args: [`${'x'.repeat(80)}${i}`] })) });
  assertError(t, refused, 403, 'QUOTA_EXCEEDED');
  t.like(refused.json.details, { quota: 'maxBytes', limit: 4000 });
  t.true(refused.json.details.requested > 4000);
  t.is((await client.post('/ask', { predicate: 'note', args: ['?x'] })).json.results.length, 0);
  // Ten concurrent tells of ~600 bytes each (coalesced into shared batches): only as many as fit are stored.
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.post('/tell', { facts: Array.from({ length: 5 }, (_, j) => ({ predicate: 'note', args: [`${'y'.repeat(80)}${i}-${j}`] })) })));
  const ok = replies.filter((r) => r.status === 200).length;
  t.true(ok >= 1 && ok < 10, `${ok} of 10 stored`);
  for (const r of replies.filter((r) => r.status !== 200)) assertError(t, r, 403, 'QUOTA_EXCEEDED');
  t.is((await client.post('/ask', { predicate: 'note', args: ['?x'], limit: 1000 })).json.results.length, ok * 5, 'every tell whole or not at all');
});
