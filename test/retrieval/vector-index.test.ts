// The approximate vector index over real HTTP (threshold lowered to 200 vectors per layer): its
// answers are those of exact search on a clustered corpus, and it never answers stale facts —
// told after the build, retracted, told in a fork, after a restart. Serial: the index counters of
// /metrics are the server's, and each test reads them to know which path answered.
import anyTest, { type TestFn } from 'ava';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';
import { gaussians } from '../helpers/random.js';

const test = anyTest as TestFn<{ server: TestServer }>;
const ENV = { VESPER_ANN_THRESHOLD: '200' };
const DIM = 32;

test.before(async (t) => {
  t.context.server = await startTestServer(ENV);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const CLUSTERS = 20;
const PER_CLUSTER = 20;
const next = gaussians(15);
const CENTRES = Array.from({ length: CLUSTERS }, () => Array.from({ length: DIM }, next));
/** A point of a cluster (what the server stores is Float32: the oracle uses the same values). */
const near = (cluster: number, spread = 0.6): number[] => (CENTRES[cluster] as number[]).map((x) => Math.fround(x + spread * next()));

interface Doc {
  readonly id: string;
  readonly vector: number[];
}
const CORPUS: Doc[] = Array.from({ length: CLUSTERS * PER_CLUSTER }, (_, i) => ({ id: `d${i}`, vector: near(i % CLUSTERS) }));

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

/** Exact search, computed here: the ids of the `k` documents most similar to the query. */
function exact(docs: readonly Doc[], query: readonly number[], k: number): string[] {
  return docs
    .map((d) => ({ id: d.id, s: cosine(d.vector, query) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((d) => d.id);
}

/** A tenant of a new database (embeddingDimensions 32) holding the corpus; `named` gives its names (to reach it again after a restart). */
async function tenantWithCorpus(url: string, named: { db?: string; tenant?: string } = {}): Promise<Api> {
  const db = (named.db = uniqueName('anndb'));
  const tenant = (named.tenant = uniqueName('ann'));
  await api(url).post('/databases', { name: db });
  const put = await api(url).request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: DIM });
  if (put.status !== 200) throw new Error(`settings: ${put.status} ${put.text}`);
  const c = tenantApi(url, tenant, db);
  await tellOk(c, { facts: CORPUS.map((d) => ({ predicate: 'doc', args: [d.id], embedding: d.vector })) });
  return c;
}

async function search(c: Api, queryEmbedding: readonly number[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const reply = await c.post('/search', { queryEmbedding, limit: 10, ...extra });
  if (reply.status !== 200) throw new Error(`search: ${reply.status} ${reply.text}`);
  return reply.json.results.map((r: { args: string[] }) => r.args[0]);
}

/** Layer searches answered by an index so far (/metrics). */
async function approximateSearches(url: string): Promise<number> {
  const text = (await api(url).get('/metrics')).text;
  const line = /^vesper_vector_layer_searches_total\{path="approximate"\} (\d+)/m.exec(text);
  return Number(line?.[1] ?? 0);
}

/** Search until an index answers (the first search starts its build; it fills in the background). */
async function untilIndexed(url: string, c: Api): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const before = await approximateSearches(url);
    await search(c, CORPUS[0]?.vector ?? []);
    if ((await approximateSearches(url)) > before) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the approximate index never became ready');
}

/** Search, asserting that the index (not a full comparison) answered. */
async function approximate(t: { true(v: boolean, m?: string): void }, url: string, c: Api, query: readonly number[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const before = await approximateSearches(url);
  const ids = await search(c, query, extra);
  t.true((await approximateSearches(url)) > before, 'an approximate index answered');
  return ids;
}

const queries = Array.from({ length: 8 }, (_, i) => near((i * 7) % CLUSTERS, 0.4));

test.serial('approximate index › answers what exact search answers on a clustered corpus', async (t) => {
  const { url } = t.context.server;
  const c = await tenantWithCorpus(url);
  const before = await approximateSearches(url);
  t.deepEqual(await search(c, queries[0] as number[]), exact(CORPUS, queries[0] as number[], 10), 'the first search starts the build and compares every vector');
  t.is(await approximateSearches(url), before);
  await untilIndexed(url, c);
  for (const q of queries) t.deepEqual(await approximate(t, url, c, q), exact(CORPUS, q, 10));
});

test.serial('approximate index › a fact told or moved after the build is found; a retracted one never returned', async (t) => {
  const { url } = t.context.server;
  const c = await tenantWithCorpus(url);
  await untilIndexed(url, c);
  const q = queries[0] as number[];
  const told: Doc = { id: 'fresh', vector: q.map((x) => Math.fround(x)) };
  await tellOk(c, { predicate: 'doc', args: ['fresh'], embedding: told.vector });
  // d1 is re-told with a vector next to the query (an upsert replacing its embedding).
  const moved: Doc = { id: 'd1', vector: q.map((x, i) => Math.fround(x + (i === 0 ? 0.01 : 0))) };
  await tellOk(c, { predicate: 'doc', args: ['d1'], embedding: moved.vector });
  const docs = [...CORPUS.filter((d) => d.id !== 'd1'), moved, told];
  const found = await approximate(t, url, c, q);
  t.deepEqual(found.slice(0, 2), ['fresh', 'd1']);
  t.deepEqual(found, exact(docs, q, 10));
  const retracted = found[2] as string;
  t.is((await c.post('/retract', { predicate: 'doc', args: [retracted] })).json.retracted, 1);
  const after = await approximate(t, url, c, q);
  t.false(after.includes(retracted));
  t.deepEqual(after, exact(docs.filter((d) => d.id !== retracted), q, 10));
});

test.serial('approximate index › a fact told in a fork is found there, not in main until merged', async (t) => {
  const { url } = t.context.server;
  const c = await tenantWithCorpus(url);
  t.is((await c.post('/scope/fork', { source: 'main', target: 'f' })).status, 201);
  await untilIndexed(url, c); // the corpus layer is frozen now, shared by main and f: one index serves both
  const q = queries[3] as number[];
  const forked: Doc = { id: 'forked', vector: q };
  await tellOk(c, { predicate: 'doc', args: ['forked'], embedding: forked.vector, scope: 'f' });
  t.is((await c.post('/retract', { predicate: 'doc', args: [exact(CORPUS, q, 1)[0]], scope: 'f' })).json.retracted, 1);
  const inFork = await approximate(t, url, c, q, { scope: 'f' });
  const forkDocs = [...CORPUS.filter((d) => d.id !== exact(CORPUS, q, 1)[0]), forked];
  t.deepEqual(inFork, exact(forkDocs, q, 10));
  t.is(inFork[0], 'forked');
  t.deepEqual(await approximate(t, url, c, q, { scope: 'main' }), exact(CORPUS, q, 10), 'main: neither the fork\'s fact nor its retraction');
  t.is((await c.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' })).status, 200);
  t.deepEqual(await approximate(t, url, c, q, { scope: 'main' }), exact(forkDocs, q, 10), 'merged: main has both');
});

test.serial('approximate index › after a restart it is built again from the stored embeddings, and answers right', async (t) => {
  const first = await startTestServer(ENV);
  let second: TestServer | null = null;
  try {
    const named: { db?: string; tenant?: string } = {};
    const c = await tenantWithCorpus(first.url, named);
    await untilIndexed(first.url, c);
    const q = queries[5] as number[];
    const late: Doc = { id: 'late', vector: q };
    await tellOk(c, { predicate: 'doc', args: ['late'], embedding: late.vector });
    const retracted = exact(CORPUS, q, 2)[1] as string;
    t.is((await c.post('/retract', { predicate: 'doc', args: [retracted] })).json.retracted, 1);
    const docs = [...CORPUS.filter((d) => d.id !== retracted), late];
    await first.close({ keepData: true });
    second = await startTestServer(ENV, { dataDir: first.dataDir });
    const again = tenantApi(second.url, named.tenant as string, named.db);
    t.deepEqual(await search(again, q), exact(docs, q, 10), 'while the new index fills: exact search');
    await untilIndexed(second.url, again);
    t.deepEqual(await approximate(t, second.url, again, q), exact(docs, q, 10));
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});

test.serial('approximate index › VESPER_ANN_MAX_TENANTS bounds the indexed tenants; an evicted tenant is answered exactly, then indexed again', async (t) => {
  const server = await startTestServer({ ...ENV, VESPER_ANN_MAX_TENANTS: '1' });
  try {
    const gauge = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await api(server.url).get('/metrics')).text)?.[1] ?? -1);
    const a = await tenantWithCorpus(server.url);
    await untilIndexed(server.url, a);
    const b = await tenantWithCorpus(server.url);
    await untilIndexed(server.url, b); // b's index evicts a's
    t.is(await gauge('vesper_vector_indexed_tenants'), 1);
    const q = queries[2] as number[];
    const before = await approximateSearches(server.url);
    t.deepEqual(await search(a, q), exact(CORPUS, q, 10), 'a: exact again (its index was dropped), and right');
    t.is(await approximateSearches(server.url), before);
    await untilIndexed(server.url, a);
    t.deepEqual(await approximate(t, server.url, a, q), exact(CORPUS, q, 10));
    t.is(await gauge('vesper_vector_indexed_tenants'), 1);
  } finally {
    await server.close();
  }
});
