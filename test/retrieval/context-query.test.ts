// "query" and "queryEmbedding" on /context/optimize and /context/diff, and fact embeddings, over real HTTP.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('ctxq'));
type Entry = { predicate: string; args: unknown[]; salience: number; why?: { text: number | null; vector: number | null; relevance: number; goal: boolean; matched: string[] } };
const labels = (entries: Entry[]) => entries.map((e) => `${e.predicate}(${e.args.join(', ')})`);

/** 30 unrelated facts, told first (older), and two about billing. */
function tenantFacts() {
  const filler = Array.from({ length: 30 }, (_, i) => ({ predicate: 'note', args: [`n${i}`, `routine check ${i}`], confidence: 1 }));
  return [
    ...filler,
    { predicate: 'incident', args: ['inc-7', 'billing_outage'], confidence: 0.6, metadata: { owner: 'payments team' } },
    { predicate: 'runbook', args: ['rb-1'], confidence: 0.6, metadata: { title: 'Restart the billing worker' } },
  ];
}

test('POST /context/optimize › with a query › the facts about it enter a small window, with why; same state, same window', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: tenantFacts() });
  const plain = await c.post('/context/optimize', { maxFacts: 5 });
  t.false(labels(plain.json.entries).includes('incident(inc-7, billing_outage)'), 'without a query, confidence ranks it out');
  t.is(plain.json.entries[0].why, undefined, 'why only on windows built with a query');
  const body = { maxFacts: 5, query: 'billing outage' };
  const first = await c.post('/context/optimize', body);
  t.is(first.status, 200, first.text);
  t.deepEqual(labels(first.json.entries).slice(0, 2), ['incident(inc-7, billing_outage)', 'runbook(rb-1)']);
  const top = first.json.entries[0] as Entry;
  t.is(top.why?.text, 1);
  t.deepEqual(top.why?.matched, ['bill', 'outag']);
  t.is(top.why?.goal, false);
  t.true((first.json.entries[2] as Entry).why?.relevance === 0);
  const again = await c.post('/context/optimize', body);
  t.is(again.json.windowId, first.json.windowId);
  t.deepEqual(labels(again.json.entries), labels(first.json.entries));
});

test('POST /context/optimize › with a query › a fact tied to the best hits by a shared identifier joins them (feedback), /search stays literal', async (t) => {
  const c = client(t);
  const deal = (id: string, account: string, topic: string, event: string) => [
    { predicate: 'deal', args: [id, account, 'negotiation'], metadata: { topic } },
    { predicate: 'deal_update', args: [id, `${topic}: ${event}`] },
    { predicate: 'next_step', args: [id, `follow up on ${topic} because it ${event}`] },
  ];
  const filler = Array.from({ length: 30 }, (_, i) => ({ predicate: 'note', args: [`n${i}`, `routine check ${i}`] }));
  // Three deals about pricing; only D-9 went silent. Its deal row names neither the event nor anything the question says but the topic.
  await tellOk(c, { facts: [...filler, ...deal('D-7', 'acme', 'pricing proposal', 'signed verbally'), ...deal('D-8', 'globex', 'pricing proposal', 'asked for references'), ...deal('D-9', 'initech', 'pricing proposal', 'went silent')] });
  const window = await c.post('/context/optimize', { maxFacts: 3, query: 'pricing proposal went silent' });
  t.is(window.status, 200, window.text);
  t.deepEqual(labels(window.json.entries).sort(), ['deal(D-9, initech, negotiation)', 'deal_update(D-9, pricing proposal: went silent)', 'next_step(D-9, follow up on pricing proposal because it went silent)']);
  const row = (window.json.entries as Entry[]).find((e) => e.predicate === 'deal');
  t.deepEqual(row?.why?.matched.sort(), ['price', 'propos'], 'why names the query words it holds, not the feedback terms');
  // /search answers with the facts that hold the words: the three deal rows tie on the topic.
  const search = await c.post('/search', { query: 'went silent', limit: 10 });
  t.deepEqual(search.json.results.map((r: { args: unknown[] }) => r.args[0]).sort(), ['D-9', 'D-9']);
});

test('POST /context/optimize › goal premises keep priority over query relevance', async (t) => {
  const c = client(t);
  await c.post('/rules', { text: 'eligible(?c) :- customer(?c), plan(?c, enterprise).' });
  await tellOk(c, { facts: [...tenantFacts(), { predicate: 'customer', args: ['acme'] }, { predicate: 'plan', args: ['acme', 'enterprise'] }] });
  const window = await c.post('/context/optimize', { maxFacts: 5, query: 'billing outage', goals: [{ predicate: 'eligible', args: ['?c'] }] });
  t.deepEqual(labels(window.json.entries).slice(0, 4), ['eligible(acme)', 'customer(acme)', 'plan(acme, enterprise)', 'incident(inc-7, billing_outage)']);
  t.true(window.json.entries[1].why.goal);
});

test('POST /context/diff › with a query › the window follows the query between turns', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: tenantFacts() });
  const first = await c.post('/context/diff', { sessionId: 's1', maxFacts: 3, query: 'billing' });
  t.is(first.status, 200, first.text);
  t.true(labels(first.json.added).includes('runbook(rb-1)'));
  const second = await c.post('/context/diff', { sessionId: 's1', maxFacts: 3, query: 'routine check 7' });
  t.deepEqual(labels(second.json.added)[0], 'note(n7, routine check 7)');
  t.true(second.json.removed.some((r: { predicate: string }) => r.predicate === 'runbook'));
});

/** A tenant of a new database whose embeddingDimensions is 3. */
async function embeddingTenant(t: { context: { server: TestServer } }) {
  const { url } = t.context.server;
  const db = uniqueName('emb');
  await api(url).post('/databases', { name: db });
  const put = await api(url).request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 3 });
  if (put.status !== 200) throw new Error(`settings: ${put.status} ${put.text}`);
  return { c: tenantApi(url, uniqueName('ctxq'), db), db };
}

test('embeddings › a database that declares no embeddingDimensions › 400 on embeddings and queryEmbedding', async (t) => {
  const c = client(t);
  assertError(t, await c.post('/tell', { predicate: 'doc', args: ['a'], embedding: [1, 0, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { queryEmbedding: [1, 0, 0] }), 400, 'VALIDATION_ERROR');
});

test('embeddings › stored, kept across an upsert unless replaced, ranked by cosine; wrong values › 400', async (t) => {
  const { c, db } = await embeddingTenant(t);
  await tellOk(c, {
    facts: [
      { predicate: 'doc', args: ['a'], embedding: [1, 0, 0] },
      { predicate: 'doc', args: ['b'], embedding: [0, 1, 0] },
      { predicate: 'doc', args: ['c'] },
    ],
  });
  const near = await c.post('/search', { queryEmbedding: [0.9, 0.1, 0], limit: 5 });
  t.is(near.status, 200, near.text);
  t.deepEqual(labels(near.json.results), ['doc(a)', 'doc(b)']);
  t.true(near.json.results[0].why.vector > 0.99);
  await tellOk(c, { predicate: 'doc', args: ['a'], confidence: 0.5 });
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [1, 0, 0] })).json.results)[0], 'doc(a)', 'kept across the upsert');
  await tellOk(c, { predicate: 'doc', args: ['a'], embedding: [0, 0, 1] });
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [0, 0, 1] })).json.results)[0], 'doc(a)', 'replaced');
  await tellOk(c, { predicate: 'doc', args: ['b'], embedding: null });
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [0, 1, 0] })).json.results), [], 'dropped with null (and a, orthogonal, has relevance 0: not a result)');
  const window = await c.post('/context/optimize', { maxFacts: 1, queryEmbedding: [0, 0, 1] });
  t.deepEqual(labels(window.json.entries), ['doc(a)']);
  t.is(window.json.entries[0].why.vector, 1);
  const wrong = await c.post('/tell', { facts: [{ predicate: 'doc', args: ['d'], embedding: [1, 0, 0, 0] }] });
  assertError(t, wrong, 400, 'VALIDATION_ERROR');
  t.deepEqual(wrong.json.details, { field: 'facts.0.embedding', expected: 3, got: 4 });
  assertError(t, await c.post('/search', { queryEmbedding: [1, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/diff', { sessionId: 's', queryEmbedding: [1, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/tell', { predicate: 'doc', args: ['d'], embedding: [1, 'x', 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/tell', { predicate: 'doc', args: ['d'], embedding: [] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/tell', { predicate: 'doc', args: ['d'], embedding: Array.from({ length: 4097 }, () => 0) }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { queryEmbedding: [1, null] }), 400, 'VALIDATION_ERROR');
  const change = await api(t.context.server.url).request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 4 });
  assertError(t, change, 409, 'CONFLICT');
});

test('embeddings › told in a fork › found there by vector, not in main until merged; retract removes it', async (t) => {
  const { c } = await embeddingTenant(t);
  await tellOk(c, { predicate: 'doc', args: ['main-only'], embedding: [0, 1, 0] });
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [0, 1, 0], scope: 'main' })).json.results), ['doc(main-only)'], 'loads the cache');
  t.is((await c.post('/scope/fork', { source: 'main', target: 'f' })).status, 201);
  await tellOk(c, { predicate: 'doc', args: ['forked'], embedding: [1, 0, 0], scope: 'f' });
  await tellOk(c, { predicate: 'doc', args: ['main-only'], embedding: null, scope: 'f' });
  const inFork = await c.post('/search', { queryEmbedding: [1, 0, 0], scope: 'f' });
  t.deepEqual(labels(inFork.json.results), ['doc(forked)']);
  t.deepEqual((await c.post('/search', { queryEmbedding: [1, 0, 0], scope: 'main' })).json.results, []);
  t.deepEqual((await c.post('/search', { queryEmbedding: [0, 1, 0], scope: 'f' })).json.results, [], 'the fork dropped the vector main still has');
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [0, 1, 0], scope: 'main' })).json.results), ['doc(main-only)']);
  t.is((await c.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' })).status, 200);
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [1, 0, 0], scope: 'main' })).json.results), ['doc(forked)']);
  await c.post('/retract', { predicate: 'doc', args: ['forked'] });
  t.deepEqual((await c.post('/search', { queryEmbedding: [1, 0, 0] })).json.results, []);
});
