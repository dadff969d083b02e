// Keyset paging: the cursor of /ask and /scope/diff names the last row, so writes between pages neither repeat nor skip a row that existed when paging began.
import anyTest, { type TestFn } from 'ava';
import { type Reply, type TestServer, api, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;
test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server.close();
});

const client = (t: { context: { server: TestServer } }, tenant: string) => api(t.context.server.url, { 'X-Tenant-ID': tenant });
const label = (r: { predicate?: string; args: unknown[]; scope?: string }) => `${r.predicate ?? ''}(${r.args.join(',')})@${r.scope}`;

test('POST /ask › paging while facts are written before and after the cursor › every row that existed comes exactly once', async (t) => {
  const c = client(t, 'page_ask');
  await c.post('/tell', { facts: Array.from({ length: 30 }, (_, i) => ({ predicate: 'p', args: [i * 2] })) });
  await c.post('/tell', { facts: Array.from({ length: 10 }, (_, i) => ({ predicate: 'p', args: [i * 2], scope: 'side' })) });
  const before = (await c.post('/ask', { predicate: 'p', args: ['?x'], limit: 1000 })).json.results.map(label);
  const seen: string[] = [];
  let cursor: string | null = null;
  let round = 0;
  do {
    const reply: Reply = await c.post('/ask', { predicate: 'p', args: ['?x'], limit: 7, ...(cursor ? { cursor } : {}) });
    t.is(reply.status, 200, reply.text);
    seen.push(...reply.json.results.map(label));
    cursor = reply.json.cursor;
    // Between pages: new facts on both sides of the cursor, an upsert, and a new scope holding an old fact.
    round++;
    await c.post('/tell', { facts: [{ predicate: 'p', args: [round * 2 + 1] }, { predicate: 'p', args: [60 - round] }, { predicate: 'p', args: [round * 2], confidence: 0.5 }] });
    await c.post('/tell', { predicate: 'p', args: [round * 4], scope: `a${round}` });
  } while (cursor !== null);
  t.deepEqual([...new Set(seen)].length, seen.length, 'no row came twice');
  t.deepEqual(before.filter((row: string) => !seen.includes(row)), [], 'no row that existed was skipped');
});

test('POST /ask › a page ends inside the scopes of one fact and a scope sorting before the cursor gets it › the next page neither repeats nor skips', async (t) => {
  const c = client(t, 'page_group');
  await c.post('/tell', { predicate: 'q', args: [1], scope: 'b' });
  await c.post('/tell', { predicate: 'q', args: [1], scope: 'c' });
  const first = await c.post('/ask', { predicate: 'q', args: ['?x'], limit: 1 });
  t.deepEqual(first.json.results.map(label), ['q(1)@b']);
  await c.post('/tell', { predicate: 'q', args: [1], scope: 'a' });
  const second = await c.post('/ask', { predicate: 'q', args: ['?x'], limit: 1, cursor: first.json.cursor });
  t.deepEqual(second.json.results.map(label), ['q(1)@c']);
});

test('POST /scope/diff › paging while the source gets changes sorting before the cursor › every row that existed comes exactly once', async (t) => {
  const c = client(t, 'page_diff');
  await c.post('/tell', { predicate: 'base', args: [0] });
  await c.post('/scope/fork', { source: 'main', target: 'f' });
  await c.post('/tell', { scope: 'f', facts: Array.from({ length: 30 }, (_, i) => ({ predicate: 'm', args: [i] })) });
  const before = (await c.post('/scope/diff', { sourceScope: 'f', targetScope: 'main', limit: 1000 })).json.onlyInSource.map(label);
  t.is(before.length, 30);
  const seen: string[] = [];
  let cursor: string | null = null;
  let round = 0;
  do {
    const reply: Reply = await c.post('/scope/diff', { sourceScope: 'f', targetScope: 'main', limit: 7, ...(cursor ? { cursor } : {}) });
    t.is(reply.status, 200, reply.text);
    seen.push(...reply.json.onlyInSource.map(label));
    cursor = reply.json.cursor;
    round++;
    await c.post('/tell', { scope: 'f', facts: [{ predicate: 'a', args: [round] }, { predicate: 'm', args: [round * 100] }] });
  } while (cursor !== null);
  t.is(new Set(seen).size, seen.length, 'no row came twice');
  t.deepEqual(before.filter((row: string) => !seen.includes(row)), [], 'no row that existed was skipped');
});

test('POST /ask with rules › paging while facts are told and retracted before and after the cursor › every answer that existed comes exactly once', async (t) => {
  const c = client(t, 'page_rules');
  const derived = (r: { args: unknown[]; scope?: string | null }) => `path(${r.args.join(',')})`;
  t.is((await c.post('/rules', { text: 'path(?x, ?y) :- edge(?x, ?y).\npath(?x, ?z) :- edge(?x, ?y), path(?y, ?z).' })).status, 201);
  const chain = Array.from({ length: 12 }, (_, i) => ({ predicate: 'edge', args: [`n${String(i).padStart(2, '0')}`, `n${String(i + 1).padStart(2, '0')}`] }));
  await c.post('/tell', { facts: chain });
  const ask = (cursor: string | null) => c.post('/ask', { predicate: 'path', args: ['?x', '?y'], limit: 10, ...(cursor ? { cursor } : {}) });
  const before = (await c.post('/ask', { predicate: 'path', args: ['?x', '?y'], limit: 1000 })).json.results.map(derived);
  t.is(before.length, 78);
  const seen: string[] = [];
  let cursor: string | null = null;
  let round = 0;
  do {
    const reply: Reply = await ask(cursor);
    t.is(reply.status, 200, reply.text);
    seen.push(...reply.json.results.map(derived));
    cursor = reply.json.cursor;
    round++;
    // Between pages: answers appear before the cursor (an edge into the chain from a name sorting first)
    // and disappear before it (a retracted edge from a side node that sorts first), and after it.
    await c.post('/tell', { facts: [{ predicate: 'edge', args: [`a${round}`, 'n00'] }, { predicate: 'edge', args: [`z${round}`, 'n00'] }] });
    if (round > 1) await c.post('/retract', { predicate: 'edge', args: [`a${round - 1}`, 'n00'] });
  } while (cursor !== null && round < 20);
  t.is(cursor, null, 'paging ended (78 answers, 10 a page)');
  t.is(new Set(seen).size, seen.length, 'no answer came twice');
  t.deepEqual(before.filter((row: string) => !seen.includes(row)), [], 'no answer that existed was skipped');
  // The order is the answers' own: a page starts strictly after the last answer sent.
  const firstPage = (await ask(null)).json;
  const next = (await ask(firstPage.cursor)).json;
  t.true(derived(next.results[0]) > derived(firstPage.results.at(-1)));
});
