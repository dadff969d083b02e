/**
 * Retrieval bench (`node --import tsx --expose-gc bench/retrieval.ts`), over real HTTP against an
 * in-process server (issue 15):
 *
 * 1. Quality: three labelled tenants (bench/lib/retrieval-corpus.ts: support desk, sales CRM,
 *    engineering incidents; BENCH_RETRIEVAL_FACTS facts each, 45 queries each with their relevant
 *    facts marked). Each query asks /context/optimize for a window of maxFacts 10 four ways: today's
 *    ranking (no query), text only (`query`), vector only (`queryEmbedding`, hashed character
 *    trigrams: `hashedEmbedding`), hybrid (both). Reports recall@maxFacts (relevant facts in the
 *    window / relevant facts) and MRR (1 / rank of the first relevant entry). Each way runs on its
 *    own copy of the tenant, so the access counts one way's windows add do not steer another's.
 * 2. Latency: /context/optimize with a query (text; and hybrid) on support-desk tenants of 10k and
 *    100k facts (BENCH_RETRIEVAL_SIZES), warm (the same request shape asked before), p50/p99.
 *
 * Env: BENCH_RETRIEVAL_FACTS (default 5000), BENCH_RETRIEVAL_SIZES (default 10000,100000),
 * BENCH_RETRIEVAL_SAMPLES (default 60), BENCH_RETRIEVAL_DIMS (default 128), BENCH_TMP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { DOMAINS, type Fact, buildCorpus, factText, hashedEmbedding, label } from './lib/retrieval-corpus.js';

const FACTS = Number(process.env.BENCH_RETRIEVAL_FACTS ?? 5000);
const SIZES = (process.env.BENCH_RETRIEVAL_SIZES ?? '10000,100000').split(',').filter(Boolean).map(Number);
const SAMPLES = Number(process.env.BENCH_RETRIEVAL_SAMPLES ?? 60);
const DIMS = Number(process.env.BENCH_RETRIEVAL_DIMS ?? 128);
/** BENCH_RETRIEVAL_QUALITY=0: latency only. */
const QUALITY = process.env.BENCH_RETRIEVAL_QUALITY !== '0';
const MAX_FACTS = 10;
const DATABASE = 'retrieval';

type Body = Record<string, unknown>;

async function post(url: string, route: string, body: Body, tenant: string | null, method = 'POST'): Promise<{ json: any; ms: number }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-database': DATABASE };
  if (tenant !== null) headers['x-tenant-id'] = tenant;
  const started = performance.now();
  const response = await fetch(url + route, { method, headers, body: JSON.stringify(body) });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200 && response.status !== 201) throw new Error(`${route} → ${response.status}: ${text.slice(0, 300)}`);
  return { json: JSON.parse(text), ms };
}

async function load(url: string, tenant: string, facts: readonly Fact[], embed: boolean): Promise<void> {
  for (let i = 0; i < facts.length; i += 2000) {
    const batch = facts.slice(i, i + 2000).map((f) => (embed ? { ...f, embedding: hashedEmbedding(factText(f), DIMS) } : f));
    await post(url, '/tell', { facts: batch }, tenant);
  }
}

type Mode = 'today' | 'text' | 'vector' | 'hybrid';
const MODES: readonly Mode[] = ['today', 'text', 'vector', 'hybrid'];

function requestFor(mode: Mode, text: string): Body {
  const body: Body = { maxFacts: MAX_FACTS };
  if (mode === 'text' || mode === 'hybrid') body.query = text;
  if (mode === 'vector' || mode === 'hybrid') body.queryEmbedding = hashedEmbedding(text, DIMS);
  return body;
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const fmt = (x: number, digits = 3) => x.toFixed(digits);

async function quality(url: string): Promise<string[]> {
  const lines = ['| tenant | facts | queries | today recall / MRR | text recall / MRR | vector recall / MRR | hybrid recall / MRR |', '|---|---|---|---|---|---|---|'];
  const totals = new Map<Mode, { recall: number; mrr: number; n: number }>(MODES.map((m) => [m, { recall: 0, mrr: 0, n: 0 }]));
  for (const [d, domain] of DOMAINS.entries()) {
    const corpus = buildCorpus(domain, FACTS, 45, 1000 + d);
    const cells: string[] = [];
    for (const mode of MODES) {
      const tenant = `q${d}-${mode}`;
      await load(url, tenant, corpus.facts, true);
      let recall = 0;
      let mrr = 0;
      for (const q of corpus.queries) {
        const { json } = await post(url, '/context/optimize', requestFor(mode, q.text), tenant);
        const labels: string[] = json.entries.map(label);
        const relevant = new Set(q.relevant);
        recall += labels.filter((l) => relevant.has(l)).length / Math.min(relevant.size, MAX_FACTS);
        const first = labels.findIndex((l) => relevant.has(l));
        mrr += first < 0 ? 0 : 1 / (first + 1);
      }
      const n = corpus.queries.length;
      const total = totals.get(mode) as { recall: number; mrr: number; n: number };
      total.recall += recall;
      total.mrr += mrr;
      total.n += n;
      cells.push(`${fmt(recall / n)} / ${fmt(mrr / n)}`);
    }
    lines.push(`| ${corpus.name} | ${corpus.facts.length} | ${corpus.queries.length} | ${cells.join(' | ')} |`);
  }
  const all = MODES.map((m) => {
    const t = totals.get(m) as { recall: number; mrr: number; n: number };
    return `${fmt(t.recall / t.n)} / ${fmt(t.mrr / t.n)}`;
  });
  lines.push(`| **all** | | ${(totals.get('today') as { n: number }).n} | ${all.join(' | ')} |`);
  return lines;
}

async function latency(url: string): Promise<string[]> {
  const lines = ['| facts | mode | load s | first window ms | warm p50 ms | warm p99 ms |', '|---|---|---|---|---|---|'];
  for (const size of SIZES) {
    const corpus = buildCorpus(DOMAINS[0] as (typeof DOMAINS)[number], size, 45, 77);
    const tenant = `lat${size}`;
    const started = performance.now();
    await load(url, tenant, corpus.facts, true);
    const loadS = (performance.now() - started) / 1000;
    for (const mode of ['text', 'hybrid'] as const) {
      const first = await post(url, '/context/optimize', requestFor(mode, 'warm up'), tenant);
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const q = corpus.queries[i % corpus.queries.length] as { text: string };
        times.push((await post(url, '/context/optimize', requestFor(mode, q.text), tenant)).ms);
      }
      lines.push(`| ${corpus.facts.length} | ${mode} | ${fmt(loadS, 1)} | ${fmt(first.ms, 1)} | ${fmt(percentile(times, 50), 1)} | ${fmt(percentile(times, 99), 1)} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-retrieval-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dir, LOG_LEVEL: 'silent', VESPER_RATE_LIMIT: '0' });
  const server = await startServer(config);
  try {
    await post(server.url, '/databases', { name: DATABASE }, null);
    await post(server.url, `/admin/databases/${DATABASE}/settings`, { embeddingDimensions: DIMS }, null, 'PUT');
    console.log(`node ${process.version}, ${new Date().toISOString()}, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (QUALITY) {
      console.log(`\n### Quality (maxFacts ${MAX_FACTS}, ${DIMS}-dim hashed trigram embeddings)\n`);
      for (const line of await quality(server.url)) console.log(line);
    }
    if (SIZES.length > 0) {
      console.log('\n### Latency of /context/optimize with a query (HTTP, in process)\n');
      for (const line of await latency(server.url)) console.log(line);
    }
    console.log(`\nload at the end ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
