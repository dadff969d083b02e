/**
 * Parameter sweep of the approximate index, outside the server (`node --import tsx
 * bench/vector-index-tune.ts <clustered|hashed> <facts> <connectivity,expansionAdd,expansionSearch,f16|f32>…`):
 * the graph alone (usearch, one thread, batches of 8 as the server adds them), on the vector sets of
 * bench/vector-index.ts (clustered: 100 queries; hashed: the 45 labelled questions and fact texts).
 * Per configuration: build seconds; recall@10 and @40 (tie-aware, as in vector-index.ts) of the best
 * of 320 candidates re-scored exactly (what a limit-40 /search asks), recall@10 of 80 and 128
 * candidates (what a limit-10 search asks with expansion 64 or 128); query ms for 320 candidates.
 * Run it under `flock /tmp/bench.lock`.
 */
import { Index, MetricKind, ScalarKind } from 'usearch';
import { DOMAINS, buildCorpus, factText, hashedEmbedding } from './lib/retrieval-corpus.js';
function gaussians(seed: number) { let s = seed >>> 0; const u = () => { s = (s * 1664525 + 1013904223) >>> 0; return (s + 0.5) / 2 ** 32; }; return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()); }
function clustered(n: number) { const d = 384, next = gaussians(1), C = n / 100; const cs = Array.from({ length: C }, () => Array.from({ length: d }, next));
  const pt = (c: number, sp: number) => Float32Array.from(cs[c]!, (x) => x + sp * next());
  return { d, data: Array.from({ length: n }, (_, i) => pt(i % C, 0.6)), queries: Array.from({ length: 100 }, (_, i) => pt((i * 37) % C, 0.4)) }; }
function hashed(n: number) { const d = 128; const c = buildCorpus(DOMAINS[0]!, n, 45, 1000);
  return { d, data: c.facts.map((f) => Float32Array.from(hashedEmbedding(factText(f), d))), queries: c.queries.map((q) => Float32Array.from(hashedEmbedding(q.text, d))).concat(c.facts.filter((_, i) => i % 500 === 0).map((f) => Float32Array.from(hashedEmbedding(factText(f), d)))).slice(0, 100) }; }
const cos = (a: Float32Array, b: Float32Array) => { let x = 0, y = 0, z = 0; for (let i = 0; i < a.length; i++) { x += a[i]! * b[i]!; y += a[i]! ** 2; z += b[i]! ** 2; } return y && z ? x / Math.sqrt(y * z) : 0; };
const [setName, n, configs] = [process.argv[2]!, Number(process.argv[3]), process.argv.slice(4)];
const set = setName === 'clustered' ? clustered(n) : hashed(n);
const truth = set.queries.map((q) => set.data.map((v) => cos(v, q)).sort((a, b) => b - a));
for (const cfg of configs) {
  const [conn, ea, es, q] = cfg.split(',');
  const idx = new Index({ dimensions: set.d, metric: MetricKind.Cos, quantization: q === 'f32' ? ScalarKind.F32 : ScalarKind.F16, connectivity: +conn!, expansion_add: +ea!, expansion_search: +es!, multi: false });
  const t0 = performance.now();
  for (let i = 0; i < set.data.length; i += 8) { const m = Math.min(8, set.data.length - i); idx.add(BigUint64Array.from({ length: m }, (_, j) => BigInt(i + j)), set.data.slice(i, i + m), 1); }
  const build = (performance.now() - t0) / 1000;
  let found10 = 0, found40 = 0; let qms = 0;
  set.queries.forEach((q, qi) => { const t1 = performance.now(); const ks = idx.search(q, 320, 1).keys; qms += performance.now() - t1;
    const sims = Array.from(ks, (k) => cos(set.data[Number(k)]!, q)).sort((a, b) => b - a); const t = truth[qi]!;
    found10 += sims.slice(0, 10).filter((s) => s >= t[9]! - 1e-6).length; found40 += sims.slice(0, 40).filter((s) => s >= t[39]! - 1e-6).length; });
  const small: Record<string, number> = {};
  for (const k of [80, 128]) { let f = 0; set.queries.forEach((q, qi) => { const sims = Array.from(idx.search(q, k, 1).keys, (key) => cos(set.data[Number(key)]!, q)).sort((a, b) => b - a); f += sims.slice(0, 10).filter((s) => s >= truth[qi]![9]! - 1e-6).length; }); small[`recall10@k${k}`] = f / (10 * set.queries.length); }
  console.log(JSON.stringify({ setName, n, cfg, build: +build.toFixed(1), recall10: found10 / (10 * set.queries.length), recall40: found40 / (40 * set.queries.length), ...small, queryMs: +(qms / set.queries.length).toFixed(2) }));
}
