/**
 * Issue 17 reproductions through the real server: paging a derived relation (class 3), answers
 * as sets of visible bindings, and what a derivation may combine across scopes.
 */
import anyTest, { type TestFn } from 'ava';
import { askAll, tellOk, uniqueName } from '../helpers/facts.js';
import { type Reply, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const PATH = 'path(?x, ?y) :- edge(?x, ?y).\npath(?x, ?z) :- edge(?x, ?y), path(?y, ?z).';
const edges = (pairs: [string, string][], scope = 'main') => ({ facts: pairs.map(([a, b]) => ({ predicate: 'edge', args: [a, b], scope })) });

test('class 3 › a derived relation asked as one pattern › pages to the end by cursor', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('page'));
  await tellOk(client, edges([['a', 'b'], ['b', 'c'], ['c', 'd']]));
  t.is((await client.post('/rules', { text: PATH })).status, 201);
  const seen: unknown[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const reply: Reply = await client.post('/ask', { predicate: 'path', args: ['?x', '?y'], scope: 'main', limit: 1, cursor });
    t.is(reply.status, 200, reply.text);
    seen.push(...reply.json.results.map((r: { args: unknown[] }) => r.args));
    cursor = reply.json.cursor ?? null;
    if (cursor === null) break;
  }
  t.deepEqual(seen, [['a', 'b'], ['a', 'c'], ['a', 'd'], ['b', 'c'], ['b', 'd'], ['c', 'd']]);
  // All scopes, paged the same way.
  const all = await askAll(client, { predicate: 'path', args: ['?x', '?y'] }, 2);
  t.is(all.length, 6);
  // A cursor of one query is still refused by another.
  const first = await client.post('/ask', { predicate: 'path', args: ['?x', '?y'], limit: 1 });
  const other = await client.post('/ask', { predicate: 'path', args: ['a', '?y'], limit: 1, cursor: first.json.cursor });
  t.is(other.status, 400);
});

test('"?" positions › a conjunctive query › each visible binding once', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('anon'));
  await tellOk(client, edges([['a', 'b'], ['a', 'c'], ['a', 'd'], ['e', 'b']]));
  const reply = await client.post('/ask', { query: [{ predicate: 'edge', args: ['?x', '?'] }], scope: 'main' });
  t.is(reply.status, 200, reply.text);
  t.deepEqual(
    reply.json.results.map((r: { bindings: unknown }) => r.bindings),
    [{ x: 'a' }, { x: 'e' }],
  );
  const joined = await client.post('/ask', { query: [{ predicate: 'edge', args: ['?x', '?'] }, { predicate: 'edge', args: ['?', '?y'] }], scope: 'main' });
  t.is(joined.json.results.length, 6); // {a,e} × {b,c,d}
});

test('cross-scope › an ask without scope › derives within each scope and says where each answer holds', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('xscope'));
  await tellOk(client, edges([['a', 'b']]));
  await tellOk(client, edges([['b', 'c']], 's1'));
  t.is((await client.post('/rules', { text: PATH })).status, 201);
  const all = await askAll(client, { predicate: 'path', args: ['?x', '?y'] });
  t.deepEqual(
    all.map((r) => [r.args, (r as unknown as { scopes: string[] }).scopes]),
    [
      [['a', 'b'], ['main']],
      [['b', 'c'], ['s1']],
    ],
  );
  const fromA = await askAll(client, { predicate: 'path', args: ['a', '?y'] });
  t.deepEqual(
    fromA.map((r) => r.args),
    [['a', 'b']],
  );
  // A conjunctive query is a derivation too: its atoms are matched in one scope's view.
  const joined = await client.post('/ask', { query: [{ predicate: 'edge', args: ['?x', '?y'] }, { predicate: 'edge', args: ['?y', '?z'] }] });
  t.deepEqual(joined.json.results, []);
  // A fork shares its parent's facts: one answer, held in both scopes.
  t.is((await client.post('/scope/fork', { source: 'main', target: 'f1' })).status, 201);
  const forked = await askAll(client, { predicate: 'path', args: ['a', '?y'] });
  t.deepEqual(
    forked.map((r) => [r.args, (r as unknown as { scopes: string[] }).scopes]),
    [[['a', 'b'], ['f1', 'main']]],
  );
  // A scoped ask says its scope.
  const scoped = await client.post('/ask', { predicate: 'path', args: ['?x', '?y'], scope: 's1' });
  t.deepEqual(
    scoped.json.results.map((r: { args: unknown; scope: unknown; scopes: unknown }) => [r.args, r.scope, r.scopes]),
    [[['b', 'c'], 's1', ['s1']]],
  );
});
