/**
 * Approximate vector index bench (`npm run bench:ann`, issue 15): recall@k of the approximate path
 * against exact search, its build time, and /search latency, exact against approximate, through
 * the real server (this checkout from source, a child process) over HTTP.
 *
 * Per vector set and size:
 * 1. A server with VESPER_ANN_THRESHOLD=0 (exact search only) on a fresh data directory; the facts
 *    are told with their embeddings (batches of 2000); each query is asked twice by /search
 *    {queryEmbedding, limit 40}; the second pass is timed (warm) and its answers are the truth.
 * 2. The same data directory, a server with VESPER_ANN_THRESHOLD=1000: one search starts the build;
 *    build time = until /metrics shows the index ready, while /health is asked every 50 ms and the
 *    server's event-loop delay read (whether the build held the loop). Then the same queries,
 *    twice, the second pass timed.
 * recall@k = the share of the approximate top k (of searches with limit k) whose similarity reaches the exact k-th one
 * (ties count as found: the hashed set has many facts of equal vectors, where which of them is
 * returned is arbitrary); the strict share of the same fact ids is given too.
 *
 * Vector sets (deterministic):
 * - clustered: 384-d, 1 cluster per 100 facts, centres N(0,1) per coordinate, points centre + N(0, 0.6²),
 *   queries centre + N(0, 0.4²) of random clusters (an LCG seeded per set; Box–Muller).
 * - hashed: the support-desk corpus of bench/lib/retrieval-corpus.ts with its own vectors
 *   (`hashedEmbedding`, 128-d character trigrams), queries its 45 labelled questions and 155 fact texts.
 *
 * Env: BENCH_ANN_SIZES (default 50000,100000), BENCH_ANN_SETS (clustered,hashed),
 * BENCH_ANN_QUERIES (200), and VESPER_ANN_CONNECTIVITY / _EXPANSION_ADD / _EXPANSION_SEARCH passed on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DOMAINS, buildCorpus, factText, hashedEmbedding } from './lib/retrieval-corpus.js';
import { rssMb, startSourceServer } from './lib/child-server.js';
import { gaussians } from '../test/helpers/random.js';

const SIZES = (process.env.BENCH_ANN_SIZES ?? '50000,100000').split(',').filter(Boolean).map(Number);
const SETS = (process.env.BENCH_ANN_SETS ?? 'clustered,hashed').split(',').filter(Boolean);
const QUERIES = Number(process.env.BENCH_ANN_QUERIES ?? 200);
const DEPTH = 40;
const DATABASE = 'ann';
const TENANT = 'bench';
const PASSED_ON = ['VESPER_ANN_CONNECTIVITY', 'VESPER_ANN_EXPANSION_ADD', 'VESPER_ANN_EXPANSION_SEARCH'];

interface VectorSet {
  readonly dims: number;
  readonly facts: { predicate: string; args: string[]; embedding: number[] }[];
  readonly queries: number[][];
}

function clustered(size: number): VectorSet {
  const dims = 384;
  const next = gaussians(384 + size);
  const clusters = Math.max(1, Math.round(size / 100));
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dims }, next));
  const point = (c: number, spread: number) => (centres[c] as number[]).map((x) => Math.round((x + spread * next()) * 1e5) / 1e5);
  const facts = Array.from({ length: size }, (_, i) => ({ predicate: 'item', args: [`i${i}`], embedding: point(i % clusters, 0.6) }));
  const pick = gaussians(7);
  const queries = Array.from({ length: QUERIES }, () => point(Math.floor(Math.abs(pick() * 1e6)) % clusters, 0.4));
  return { dims, facts, queries };
}

function hashed(size: number): VectorSet {
  const dims = 128;
  const corpus = buildCorpus(DOMAINS[0] as (typeof DOMAINS)[number], size, 45, 1000);
  const facts = corpus.facts.map((f) => ({ predicate: f.predicate, args: f.args.map(String), metadata: f.metadata, embedding: hashedEmbedding(factText(f), dims) }));
  const texts = [...corpus.queries.map((q) => q.text), ...corpus.facts.filter((_, i) => i % Math.max(1, Math.floor(corpus.facts.length / QUERIES)) === 0).map(factText)];
  return { dims, facts, queries: texts.slice(0, QUERIES).map((t) => hashedEmbedding(t, dims)) };
}

async function call(port: number, method: string, route: string, body?: unknown): Promise<{ json: any; ms: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-database': DATABASE, 'x-tenant-id': TENANT };
  const started = performance.now();
  const reply = await fetch(`http://127.0.0.1:${port}${route}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await reply.text();
  const ms = performance.now() - started;
  if (!reply.ok) throw new Error(`${method} ${route}: ${reply.status} ${text.slice(0, 300)}`);
  return { json: text.startsWith('{') ? JSON.parse(text) : null, ms, text };
}

type Hit = { id: string; similarity: number };

async function searchAll(port: number, queries: readonly number[][], limit = DEPTH): Promise<{ hits: Hit[][]; ms: number[] }> {
  const hits: Hit[][] = [];
  const ms: number[] = [];
  for (const queryEmbedding of queries) {
    const reply = await call(port, 'POST', '/search', { queryEmbedding, limit });
    hits.push(reply.json.results.map((r: { args: string[]; why: { vector: number } }) => ({ id: JSON.stringify(r.args), similarity: r.why.vector })));
    ms.push(reply.ms);
  }
  return { hits, ms };
}

const percentile = (xs: readonly number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

function recall(exact: readonly Hit[][], approximate: readonly Hit[][], k: number): { tieAware: number; strict: number } {
  let found = 0;
  let same = 0;
  let total = 0;
  exact.forEach((truth, i) => {
    const top = truth.slice(0, k);
    const got = (approximate[i] ?? []).slice(0, k);
    const kth = top[top.length - 1]?.similarity ?? 0;
    const ids = new Set(top.map((h) => h.id));
    found += got.filter((h) => h.similarity >= kth - 1e-6).length;
    same += got.filter((h) => ids.has(h.id)).length;
    total += top.length;
  });
  return { tieAware: found / total, strict: same / total };
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = (await call(port, 'GET', '/metrics')).text;
  return Number(pattern.exec(text)?.[1] ?? 0);
}

async function withServer<T>(dataDir: string, threshold: number, work: (port: number, pid: number | undefined) => Promise<T>): Promise<T> {
  const passed = Object.fromEntries(PASSED_ON.filter((k) => process.env[k]).map((k) => [k, process.env[k] as string]));
  const server = await startSourceServer({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info', VESPER_RATE_LIMIT: '0', VESPER_ANN_THRESHOLD: String(threshold), ...passed });
  try {
    return await work(server.port, server.child.pid);
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
}

async function run(setName: string, size: number): Promise<string> {
  const set = setName === 'clustered' ? clustered(size) : hashed(size);
  const dataDir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-ann-'));
  try {
    const exact = await withServer(dataDir, 0, async (port, pid) => {
      await call(port, 'POST', '/databases', { name: DATABASE });
      await call(port, 'PUT', `/admin/databases/${DATABASE}/settings`, { embeddingDimensions: set.dims });
      for (let i = 0; i < set.facts.length; i += 2000) await call(port, 'POST', '/tell', { facts: set.facts.slice(i, i + 2000) });
      await searchAll(port, set.queries);
      const timed = await searchAll(port, set.queries);
      return { ...timed, rss: rssMb(pid) };
    });
    const approximate = await withServer(dataDir, 1000, async (port, pid) => {
      await searchAll(port, set.queries.slice(0, 1)); // loads the vectors and starts the build
      const started = performance.now();
      let slowestHealth = 0;
      // The server's own event-loop delay (prom-client's monitor, reset at each scrape): the longest
      // the loop was held, which /health's reply time mixes with the machine's scheduling.
      await metric(port, /^nodejs_eventloop_lag_max_seconds (\S+)/m);
      let loopHeld = 0;
      while ((await metric(port, /^vesper_vector_indexes\{state="ready"\} (\d+)/m)) < 1) {
        slowestHealth = Math.max(slowestHealth, (await call(port, 'GET', '/health')).ms);
        loopHeld = Math.max(loopHeld, 1000 * (await metric(port, /^nodejs_eventloop_lag_max_seconds (\S+)/m)));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const buildS = (performance.now() - started) / 1000;
      await searchAll(port, set.queries);
      const before = await metric(port, /^vesper_vector_layer_searches_total\{path="approximate"\} (\d+)/m);
      const timed = await searchAll(port, set.queries);
      // recall@10 from searches of limit 10: fewer candidates are asked of the index than for 40.
      const ten = await searchAll(port, set.queries, 10);
      const answered = (await metric(port, /^vesper_vector_layer_searches_total\{path="approximate"\} (\d+)/m)) - before;
      if (answered < 2 * set.queries.length) throw new Error(`only ${answered} of ${2 * set.queries.length} searches were answered by the index`);
      return { ...timed, ten: ten.hits, buildS, slowestHealth, loopHeld, rss: rssMb(pid) };
    });
    const r10 = recall(exact.hits, approximate.ten, 10);
    const r40 = recall(exact.hits, approximate.hits, 40);
    const exactP50 = percentile(exact.ms, 50);
    const annP50 = percentile(approximate.ms, 50);
    return `| ${setName} ${set.dims}-d | ${set.facts.length} | ${set.queries.length} | ${r10.tieAware.toFixed(3)} (${r10.strict.toFixed(3)}) | ${r40.tieAware.toFixed(3)} (${r40.strict.toFixed(3)}) | ${approximate.buildS.toFixed(1)} s | ${approximate.loopHeld.toFixed(0)} ms / ${approximate.slowestHealth.toFixed(0)} ms | ${exactP50.toFixed(1)} / ${percentile(exact.ms, 99).toFixed(1)} | ${annP50.toFixed(1)} / ${percentile(approximate.ms, 99).toFixed(1)} | ${(exactP50 / annP50).toFixed(1)}× | ${exact.rss.toFixed(0)} / ${approximate.rss.toFixed(0)} |`;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lines = [
    '| vectors | facts | queries | recall@10 (strict) | recall@40 (strict) | build | while building: longest event-loop delay / slowest /health | exact p50 / p99 ms | approximate p50 / p99 ms | p50 exact / approximate | RSS MB exact / approximate |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const size of SIZES) {
    for (const set of SETS) {
      const line = await run(set, size);
      console.log(line);
      lines.push(line);
    }
  }
  console.log(`\n${lines.join('\n')}`);
}

await main();
