/**
 * Issue 12 through the real server: `/scope/diff` between unrelated roots pages by a keyset cursor
 * (no row repeated or skipped while both scopes are written between pages), and diff and merge run
 * under the tenant's query budget (its settings): past it, 422 QUERY_BUDGET_EXCEEDED with the limit
 * hit in details, nothing merged, never a 500.
 */
import anyTest, { type TestFn } from 'ava';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type Reply, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;
test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const label = (r: { predicate: string; args: unknown[]; scope: string; confidence?: number }) => `${r.predicate}(${r.args.join(',')})@${r.scope}`;
const facts = (predicate: string, from: number, n: number, scope?: string) => ({
  facts: Array.from({ length: n }, (_, i) => ({ predicate, args: [from + i * 2], ...(scope ? { scope } : {}) })),
});

async function settle(t: { context: { server: TestServer } }, tenant: string, settings: Record<string, unknown>): Promise<void> {
  const reply = await api(t.context.server.url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, settings);
  if (reply.status !== 200) throw new Error(`settings: ${reply.status} ${reply.text}`);
}

async function twoRoots(client: Api, n: number): Promise<void> {
  await tellOk(client, facts('p', 0, n)); // main: even numbers
  await tellOk(client, facts('p', 1, n, 'side')); // side, a root of its own: odd numbers
}

test('POST /scope/diff › unrelated roots paged while both are written before and after the cursor › every row that existed comes exactly once', async (t) => {
  const tenant = uniqueName('roots');
  const c = tenantApi(t.context.server.url, tenant);
  await twoRoots(c, 40);
  const whole = (await c.post('/scope/diff', { source: 'side', target: 'main', limit: 1000 })).json;
  const before = [...whole.onlyInSource, ...whole.onlyInTarget].map(label);
  t.is(before.length, 80);
  const seen: string[] = [];
  let cursor: string | null = null;
  let round = 0;
  do {
    const reply: Reply = await c.post('/scope/diff', { source: 'side', target: 'main', limit: 7, ...(cursor ? { cursor } : {}) });
    t.is(reply.status, 200, reply.text);
    seen.push(...[...reply.json.onlyInSource, ...reply.json.onlyInTarget].map(label));
    cursor = reply.json.cursor;
    round++;
    // Between pages: new facts sorting before and after the cursor on both sides, and an upsert.
    await tellOk(c, { facts: [{ predicate: 'a', args: [round] }, { predicate: 'p', args: [1000 + round] }, { predicate: 'p', args: [round * 2], confidence: 0.5 }] });
    await tellOk(c, { scope: 'side', facts: [{ predicate: 'a', args: [-round] }, { predicate: 'z', args: [round] }] });
  } while (cursor !== null && round < 100);
  t.is(new Set(seen).size, seen.length, 'no row came twice');
  t.deepEqual(before.filter((row) => !seen.includes(row)), [], 'no row that existed was skipped');
});

test('QUERY_BUDGET_EXCEEDED › a diff reading past the tenant’s maxRows › 422 with the limit; a small page still answers', async (t) => {
  const tenant = uniqueName('diffrows');
  const c = tenantApi(t.context.server.url, tenant);
  await twoRoots(c, 300);
  await settle(t, tenant, { maxRows: 200 });
  const big = await c.post('/scope/diff', { source: 'side', target: 'main', limit: 1000 });
  t.is(big.status, 422, big.text);
  t.is(big.json.code, 'QUERY_BUDGET_EXCEEDED');
  t.deepEqual(big.json.details, { limit: 'maxRows', value: 200 });
  // A page costs what it reads: five rows fit the same budget, and so does the page after them.
  const small = await c.post('/scope/diff', { source: 'side', target: 'main', limit: 5 });
  t.is(small.status, 200, small.text);
  t.is(small.json.onlyInSource.length + small.json.onlyInTarget.length, 5);
  const next = await c.post('/scope/diff', { source: 'side', target: 'main', limit: 5, cursor: small.json.cursor });
  t.is(next.status, 200, next.text);
});

test('QUERY_BUDGET_EXCEEDED › a diff comparing more keys than maxTuples › 422 with maxTuples', async (t) => {
  const tenant = uniqueName('difftuples');
  const c = tenantApi(t.context.server.url, tenant);
  await twoRoots(c, 100);
  await settle(t, tenant, { maxTuples: 50 });
  const reply = await c.post('/scope/diff', { source: 'side', target: 'main', limit: 1000 });
  t.is(reply.status, 422, reply.text);
  t.deepEqual(reply.json.details, { limit: 'maxTuples', value: 50 });
});

test('QUERY_BUDGET_EXCEEDED › a merge past the budget › 422, the target unchanged; within it the merge applies', async (t) => {
  const tenant = uniqueName('mergerows');
  const c = tenantApi(t.context.server.url, tenant);
  await twoRoots(c, 200);
  await settle(t, tenant, { maxRows: 100 });
  const merge = await c.post('/scope/merge', { source: 'side', target: 'main', strategy: 'SOURCE_WINS' });
  t.is(merge.status, 422, merge.text);
  t.deepEqual(merge.json.details, { limit: 'maxRows', value: 100 });
  const scopes = async () => (await c.get('/scopes')).json.details.find((s: { name: string }) => s.name === 'main').facts;
  t.is(await scopes(), 200, 'nothing merged');
  await settle(t, tenant, { maxRows: null });
  const again = await c.post('/scope/merge', { source: 'side', target: 'main', strategy: 'SOURCE_WINS' });
  t.is(again.status, 200, again.text);
  t.is(await scopes(), 400);
});

test('stall › another tenant’s point asks › answered while a large diff between unrelated roots runs', async (t) => {
  const heavy = tenantApi(t.context.server.url, uniqueName('bigdiff'));
  const light = tenantApi(t.context.server.url, uniqueName('light'));
  await twoRoots(heavy, 2500);
  await tellOk(light, { facts: [{ predicate: 'plan', args: ['acme', 'pro'] }] });
  let done = false;
  const diff = heavy.post('/scope/diff', { source: 'side', target: 'main', limit: 10_000 }).finally(() => (done = true));
  let during = 0;
  while (!done) {
    const reply = await light.post('/ask', { predicate: 'plan', args: ['acme', '?tier'] });
    t.is(reply.status, 200);
    if (!done) during++;
  }
  const page = await diff;
  t.is(page.status, 200, page.text);
  t.is(page.json.onlyInSource.length + page.json.onlyInTarget.length, 5000);
  // The walk yields between keys (and at every read): the other tenant is served meanwhile.
  t.true(during > 0, 'no point ask completed during the diff');
});
