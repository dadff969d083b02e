/**
 * Settings take effect on the tenant's next request, without a restart: body size, query budget,
 * context window size and session idle time, per tenant, while a neighbour keeps the defaults.
 */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_QUERY_TIMEOUT_MS: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const put = (url: string, tenant: string, body: unknown) => api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, body);

async function twoTenants(url: string) {
  const a = uniqueName('a');
  const b = uniqueName('b');
  await tellOk(tenantApi(url, a), { predicate: 'seed', args: [1] });
  await tellOk(tenantApi(url, b), { predicate: 'seed', args: [1] });
  return { a, b, ca: tenantApi(url, a), cb: tenantApi(url, b) };
}

test('maxBodyBytes › a tenant limited to 2 KiB gets 413 for a larger body; its neighbour does not; null restores', async (t) => {
  const { url } = t.context.server;
  const { a, ca, cb } = await twoTenants(url);
  const big = { facts: Array.from({ length: 60 }, (_, i) => ({ predicate: 'note', args: [`some text number ${i}`] })) };
  t.true(JSON.stringify(big).length > 2048);
  t.is((await put(url, a, { maxBodyBytes: 2048 })).status, 200);
  assertError(t, await ca.post('/tell', big), 413, 'PAYLOAD_TOO_LARGE');
  t.is((await cb.post('/tell', big)).status, 200);
  t.is((await ca.post('/tell', { predicate: 'small', args: [1] })).status, 200);
  t.is((await put(url, a, { maxBodyBytes: null })).status, 200);
  t.is((await ca.post('/tell', big)).status, 200);
});

test('query budget › maxTuples set on a tenant stops its closure with the limit in details; removing it lets it run', async (t) => {
  const { url } = t.context.server;
  const { a, ca, cb } = await twoTenants(url);
  const chain = { facts: Array.from({ length: 59 }, (_, i) => ({ predicate: 'edge', args: [`n${i}`, `n${i + 1}`] })) }; // 1,770 reach pairs
  const rules = { text: 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).' };
  for (const client of [ca, cb]) {
    await tellOk(client, chain);
    t.is((await client.post('/rules', rules)).status, 201);
  }
  t.is((await put(url, a, { maxTuples: 500 })).status, 200);
  // limit 1,000 > 59 leading values: evaluated in full (a small limit stops early, within the budget).
  const stopped = await ca.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 1000 });
  assertError(t, stopped, 422, 'QUERY_BUDGET_EXCEEDED');
  t.deepEqual(stopped.json.details, { limit: 'maxTuples', value: 500 });
  t.is((await cb.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 1000 })).status, 200);
  t.is((await put(url, a, { maxTuples: null })).status, 200);
  t.is((await ca.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 1000 })).status, 200);
});

test('contextMaxFacts › a window that asks for no number gets the setting; an explicit maxFacts wins', async (t) => {
  const { url } = t.context.server;
  const { a, ca, cb } = await twoTenants(url);
  const facts = { facts: Array.from({ length: 30 }, (_, i) => ({ predicate: 'item', args: [i] })) };
  await tellOk(ca, facts);
  await tellOk(cb, facts);
  t.is((await cb.post('/context/optimize', {})).json.entries.length, 25, 'the server default');
  t.is((await put(url, a, { contextMaxFacts: 3 })).status, 200);
  t.is((await ca.post('/context/optimize', {})).json.entries.length, 3);
  t.is((await ca.post('/context/optimize', { maxFacts: 5 })).json.entries.length, 5);
  t.is((await cb.post('/context/optimize', {})).json.entries.length, 25);
});

test('sessionIdleMs › a session of a tenant with a 1 s idle time is forgotten after it', async (t) => {
  const { url } = t.context.server;
  const { a, ca } = await twoTenants(url);
  t.is((await put(url, a, { sessionIdleMs: 1000 })).status, 200);
  t.is((await ca.post('/context/optimize', { sessionId: 's1' })).status, 200);
  const soon = await ca.post('/context/diff', { sessionId: 's1' });
  t.false(soon.json.fullRefreshRecommended, soon.text);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const late = await ca.post('/context/diff', { sessionId: 's1' });
  t.true(late.json.fullRefreshRecommended, late.text);
});
