/**
 * Issue 12, "`limit` stops evaluation early where the plan allows it", through the real server: a
 * tenant whose tuple budget a full closure exceeds still gets its first pages, and they are the
 * pages an unbudgeted full evaluation gives (same results, same order, cursors that continue).
 */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  // No time limit: on a loaded machine the wall time could run out first, and the limit hit must be the tuples.
  t.context.server = await startTestServer({ VESPER_QUERY_TIMEOUT_MS: '0', VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';
const chain = (n: number) => ({ facts: Array.from({ length: n - 1 }, (_, i) => ({ predicate: 'edge', args: [`n${i}`, `n${i + 1}`] })) });

test('issue 12 › `limit` stops evaluation early where the plan allows it › within a tuple budget the full closure exceeds, limit 5 pages equal an unbudgeted full evaluation’s', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('limit');
  const client = tenantApi(url, tenant);
  const settings = (body: unknown) => api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, body);
  await tellOk(client, chain(150)); // 11,175 reach pairs
  t.is((await client.post('/rules', { text: REACH })).status, 201);
  t.is((await settings({ maxTuples: 5000 })).status, 200);

  const closure = { predicate: 'reach', args: ['?x', '?y'] };
  const join = { query: [{ predicate: 'edge', args: ['?x', '?y'] }, { predicate: 'reach', args: ['?y', '?z'] }] };
  // A page as large as the answer is the full evaluation: over the budget.
  const full = await client.post('/ask', { ...closure, limit: 10_000 });
  assertError(t, full, 422, 'QUERY_BUDGET_EXCEEDED');
  t.deepEqual(full.json.details, { limit: 'maxTuples', value: 5000 });
  assertError(t, await client.post('/ask', { ...join, limit: 10_000 }), 422, 'QUERY_BUDGET_EXCEEDED');

  const first = await client.post('/ask', { ...closure, limit: 5 });
  t.is(first.status, 200, first.text);
  t.truthy(first.json.cursor);
  const second = await client.post('/ask', { ...closure, limit: 5, cursor: first.json.cursor });
  t.is(second.status, 200, second.text);
  const joined = await client.post('/ask', { ...join, limit: 5 });
  t.is(joined.status, 200, joined.text);

  // The same asks with no budget, evaluated in full.
  t.is((await settings({ maxTuples: 0 })).status, 200);
  const all = await client.post('/ask', { ...closure, limit: 10_000 });
  t.is(all.status, 200, all.text);
  t.is(all.json.results.length, 10_000);
  t.deepEqual(first.json.results, all.json.results.slice(0, 5));
  t.deepEqual(first.json.results.map((r: { args: string[] }) => r.args), [
    ['n0', 'n1'],
    ['n0', 'n10'],
    ['n0', 'n100'],
    ['n0', 'n101'],
    ['n0', 'n102'],
  ]);
  t.deepEqual(second.json.results, all.json.results.slice(5, 10));
  const unlimited = await client.post('/ask', { ...closure, limit: 5 });
  t.deepEqual(unlimited.json, first.json, 'the same page and cursor, budget or not');
  const allJoined = await client.post('/ask', { ...join, limit: 10_000 });
  t.is(allJoined.status, 200, allJoined.text);
  t.deepEqual(joined.json.results, allJoined.json.results.slice(0, 5));
});

test('issue 12 › `limit` stops evaluation early where the plan allows it › a join over stored facts in a fork and over all scopes › the same fact records as a full evaluation', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('limitjoin'));
  await tellOk(client, chain(400));
  t.is((await client.post('/scope/fork', { source: 'main', target: 'f1' })).status, 201);
  // The fork holds its own copies of the first edges, and edges of its own.
  await tellOk(client, { facts: [{ predicate: 'edge', args: ['n0', 'n1'], scope: 'f1' }, { predicate: 'edge', args: ['n1', 'n2'], scope: 'f1' }, { predicate: 'edge', args: ['n0', 'x'], scope: 'f1' }] });
  const join = { query: [{ predicate: 'edge', args: ['?x', '?y'] }, { predicate: 'edge', args: ['?y', '?z'] }] };
  for (const scope of [{ scope: 'f1' }, { scope: 'main' }, {}]) {
    const all = await client.post('/ask', { ...join, ...scope, limit: 10_000 });
    t.is(all.status, 200, all.text);
    let cursor: string | null = null;
    for (let page = 0; page < 3; page++) {
      const reply: { status: number; text: string; json: any } = await client.post('/ask', { ...join, ...scope, limit: 3, ...(cursor === null ? {} : { cursor }) });
      t.is(reply.status, 200, reply.text);
      t.deepEqual(reply.json.results, all.json.results.slice(page * 3, page * 3 + 3), `${JSON.stringify(scope)} page ${page}`);
      cursor = reply.json.cursor;
    }
  }
});
