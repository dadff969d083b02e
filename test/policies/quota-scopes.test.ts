/**
 * Quotas hold for every write that grows a tenant, not only tells: a merge copies the source's
 * facts into the target's layer and a revert restores retracted facts. Found from outside: a
 * tenant at its maxFacts forked, told in the fork (within the quota) and merged, and held more
 * facts than its quota allowed.
 */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function settle(url: string, tenant: string, settings: Record<string, unknown>): Promise<void> {
  const put = await api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, settings);
  if (put.status !== 200) throw new Error(put.text);
}

const items = (scope: string, ...n: number[]) => ({ facts: n.map((i) => ({ predicate: 'item', args: [i], scope })) });
const inScope = async (c: Api, scope: string) =>
  ((await c.post('/ask', { predicate: 'item', args: ['?x'], scope, limit: 100 })).json.results as { args: number[] }[]).map((r) => r.args[0]).sort();

test('maxFacts › a merge that would take the tenant past it › 403 QUOTA_EXCEEDED with the numbers, the target unchanged; within it, the merge passes', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('qmerge');
  const c = tenantApi(url, tenant);
  await tellOk(c, items('main', 1, 2, 3, 4));
  await settle(url, tenant, { maxFacts: 5 });
  t.is((await c.post('/scope/fork', { source: 'main', target: 'f' })).status, 201);
  await tellOk(c, items('f', 5));
  const merged = await c.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' });
  assertError(t, merged, 403, 'QUOTA_EXCEEDED');
  t.like(merged.json.details, { quota: 'maxFacts', limit: 5, current: 5, requested: 6 });
  t.deepEqual(await inScope(c, 'main'), [1, 2, 3, 4], 'nothing merged');
  t.deepEqual((await c.post('/scope/diff', { source: 'f', target: 'main' })).json.onlyInSource.map((f: { args: number[] }) => f.args[0]), [5], 'the fork is still ahead');
  await settle(url, tenant, { maxFacts: 6 });
  const again = await c.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' });
  t.is(again.status, 200, again.text);
  t.deepEqual(await inScope(c, 'main'), [1, 2, 3, 4, 5]);
});

test('maxFacts › a merge that removes facts passes at the limit (it does not grow the tenant)', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('qmerge');
  const c = tenantApi(url, tenant);
  await tellOk(c, items('main', 1, 2, 3));
  t.is((await c.post('/scope/fork', { source: 'main', target: 'f' })).status, 201);
  t.is((await c.post('/retract', { predicate: 'item', args: [3], scope: 'f' })).json.retracted, 1);
  await settle(url, tenant, { maxFacts: 1 });
  const merged = await c.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' });
  t.is(merged.status, 200, merged.text);
  t.deepEqual(await inScope(c, 'main'), [1, 2]);
});

test('maxFacts › a revert that would restore facts past it › 403 QUOTA_EXCEEDED, the scope unchanged', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('qrevert');
  const c = tenantApi(url, tenant);
  await tellOk(c, items('main', 1, 2, 3));
  const history = await c.get('/history?predicate=item&scope=main');
  const before = Math.max(...history.json.versions.map((v: { time: number }) => v.time));
  await new Promise((resolve) => setTimeout(resolve, 5)); // the retraction must come at a later millisecond than `before`
  t.is((await c.post('/retract', { predicate: 'item', args: [3] })).json.retracted, 1);
  await settle(url, tenant, { maxFacts: 2 });
  const reverted = await c.post('/scope/revert', { scope: 'main', to: before });
  assertError(t, reverted, 403, 'QUOTA_EXCEEDED');
  t.deepEqual(await inScope(c, 'main'), [1, 2]);
});
