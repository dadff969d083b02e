/**
 * One store × one size × one repetition, in its own process (so peak RSS is per store) and its own
 * temp dir. Prints one JSON object on stdout (progress goes to stderr).
 *
 *   node --expose-gc --import tsx bench/worker.ts <store> <N>
 *   store: vesper | raw | quadstore | quadstore-closeiters | levelgraph
 *
 * Env: BENCH_TMP (temp root), BENCH_LOAD_CAP_S (180), BENCH_JOIN_CAP_S (60), BENCH_RSS_QUERIES (100000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { type Adapter, rawAdapter, vesperAdapter } from './lib/stores.js';
import {
  BATCH,
  JOIN_WARMUP,
  QUERY_WARMUP,
  RSS_QUERIES,
  RSS_STEP,
  SHAPE_NAMES,
  SINGLE,
  type Triple,
  duBytes,
  gc,
  joinSamples,
  latencyStats,
  maxRssMB,
  nowMs,
  querySamples,
  rssMB,
  settle,
  slope,
  triple,
} from './lib/workload.js';

const [store, nArg] = process.argv.slice(2);
const N = Number(nArg);
if (!store || !Number.isInteger(N) || N <= 0) {
  console.error('usage: worker.ts <vesper|raw|quadstore|quadstore-closeiters|levelgraph> <N>');
  process.exit(2);
}
const LOAD_CAP_S = Number(process.env.BENCH_LOAD_CAP_S || 180);
const JOIN_CAP_S = Number(process.env.BENCH_JOIN_CAP_S || 60);
const RSS_TOTAL = Number(process.env.BENCH_RSS_QUERIES || RSS_QUERIES);
const log = (msg: string) => process.stderr.write(`[${store} ${N}] ${msg}\n`);
/** Phase windows in the clock of --cpu-prof profiles (monotonic µs), for bench/cpuprofile-top.ts. */
const phases: Record<string, [number, number]> = {};
const us = () => Number(process.hrtime.bigint() / 1000n);
let phaseStart = 0;
const begin = () => void (phaseStart = us());
const end = (name: string) => void (phases[name] = [phaseStart, us()]);

async function makeAdapter(name: string): Promise<Adapter> {
  if (name === 'vesper') return vesperAdapter();
  if (name === 'raw') return rawAdapter();
  // Peer stores: their packages live in bench/peers/node_modules (npm run bench:peers installs them).
  const peers = (await import(new URL('./peers/adapters.mjs', import.meta.url).href)) as { peerAdapter(n: string): Promise<Adapter> };
  return peers.peerAdapter(name);
}

const res: Record<string, unknown> = { store, N, pid: process.pid, node: process.version, loadavg_start: loadavg()[0] };
const dir = mkdtempSync(path.join(process.env.BENCH_TMP || tmpdir(), `vb-${store}-${N}-`));
let exitCode = 0;
try {
  const A = await makeAdapter(store);
  res.join_label = A.joinLabel;
  if (A.joinAltLabel) res.join_alt_label = A.joinAltLabel;
  gc();
  res.rss_baseline_mb = rssMB();
  await A.open(dir);

  // 1. bulk load, batches of 1,000 new triples
  gc();
  begin();
  let t0 = nowMs();
  let loaded = 0;
  let dropped = false;
  for (let i = 0; i < N; i += BATCH) {
    const ts: Triple[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) ts.push(triple(j));
    await A.loadBatch(ts);
    loaded += ts.length;
    if ((nowMs() - t0) / 1000 > LOAD_CAP_S) {
      dropped = true;
      break;
    }
  }
  const loadMs = nowMs() - t0;
  end('load');
  res.load = { triples: loaded, secs: loadMs / 1000, triples_s: loaded / (loadMs / 1000), dropped };
  log(`load ${Math.round(loaded / (loadMs / 1000))}/s`);
  res.disk_after_load_bytes = duBytes(dir);
  res.maxrss_after_load_mb = maxRssMB();
  gc();
  res.rss_after_load_mb = rssMB();
  res.settle_after_load_s = await settle(A.levels());
  res.disk_settled_bytes = duBytes(dir);
  if (dropped) throw new Error(`load cap of ${LOAD_CAP_S}s exceeded`);

  // 2. single inserts, one await each (new triples N..N+9999)
  gc();
  begin();
  t0 = nowMs();
  for (let j = 0; j < SINGLE; j++) await A.insertOne(triple(N + j));
  const insMs = nowMs() - t0;
  end('single');
  res.single_insert = { n: SINGLE, ops_s: SINGLE / (insMs / 1000) };
  log(`single ${Math.round(SINGLE / (insMs / 1000))}/s`);
  gc();
  res.rss_after_inserts_mb = rssMB();
  res.settle_after_inserts_s = await settle(A.levels());

  // 3. point queries: 10,000 per shape after 200 warm-up, results drained, per-query latency
  const query: Record<string, unknown> = {};
  for (let si = 0; si < SHAPE_NAMES.length; si++) {
    const pats = querySamples(si, N);
    for (let k = 0; k < QUERY_WARMUP; k++) await A.query(pats[k]!);
    gc();
    const lat = new Float64Array(pats.length);
    let rows = 0;
    begin();
    for (let k = 0; k < pats.length; k++) {
      const a = nowMs();
      rows += await A.query(pats[k]!);
      lat[k] = nowMs() - a;
    }
    end(`query ${SHAPE_NAMES[si]}`);
    query[SHAPE_NAMES[si]!] = { ...latencyStats(lat), avg_rows: rows / pats.length };
  }
  res.query = query;
  log('queries done');
  gc();
  res.rss_after_queries_mb = rssMB();

  // 4. join ?x p1 o . ?x p2 ?y
  const js = joinSamples(N);
  for (const [key, fn] of [
    ['join', A.join],
    ['join_alt', A.joinAlt],
  ] as const) {
    if (!fn) continue;
    const run = fn.bind(A);
    for (let k = 0; k < JOIN_WARMUP; k++) await run(...js[k]!);
    gc();
    const lat: number[] = [];
    let rows = 0;
    const jt0 = nowMs();
    begin();
    for (const sample of js) {
      const a = nowMs();
      rows += await run(...sample);
      lat.push(nowMs() - a);
      if ((nowMs() - jt0) / 1000 > JOIN_CAP_S) break;
    }
    end(key);
    res[key] = { ...latencyStats(lat), avg_rows: rows / lat.length, capped: lat.length < js.length };
  }
  log('joins done');
  gc();
  res.rss_after_join_mb = rssMB();

  // 5. RSS flatness: 100k more queries (the four shapes in turn, new samples), RSS after gc() every 10k
  {
    const per = Math.ceil(RSS_TOTAL / SHAPE_NAMES.length);
    const pats = SHAPE_NAMES.map((_, si) => querySamples(si, N, per, 2000 + si));
    for (let k = 0; k < 1000; k++) await A.query(pats[k % 4]![(k >> 2) % per]!);
    gc();
    const start = rssMB();
    const samples: number[] = [];
    const qt0 = nowMs();
    for (let k = 0; k < RSS_TOTAL; k++) {
      await A.query(pats[k % 4]![k >> 2]!);
      if ((k + 1) % RSS_STEP === 0) {
        gc();
        samples.push(rssMB());
      }
    }
    res.rss_flat = {
      queries: RSS_TOTAL,
      secs: (nowMs() - qt0) / 1000,
      start_mb: start,
      samples_mb: samples,
      first_mb: samples[0],
      last_mb: samples[samples.length - 1],
      slope_mb_per_10k: slope(samples) * (RSS_STEP / 10_000),
    };
    log(`rss ${samples[0]?.toFixed(0)} -> ${samples[samples.length - 1]?.toFixed(0)} MB`);
  }

  await A.close();
  res.disk_final_bytes = duBytes(dir);
  res.maxrss_mb = maxRssMB();
  res.phases_us = phases;
  res.ok = true;
} catch (e) {
  res.ok = false;
  res.error = String((e as Error)?.stack ?? e);
  res.maxrss_mb = maxRssMB();
  exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
res.loadavg_end = loadavg()[0];
process.stdout.write(JSON.stringify(res) + '\n');
process.exit(exitCode);
