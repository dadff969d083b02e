/**
 * The peer workload (shared/bench/peers/bench.mjs, ours), unchanged: a deterministic synthetic
 * triple set where triple i is a pure function of (SEED, i), query samples drawn with a seeded
 * PRNG, so every store sees exactly the same data and the same queries.
 */
import { execFileSync } from 'node:child_process';

export const SEED = 0x5eed1234;
export const N_SUBJ = 10_000;
export const N_PRED = 20;
export const N_ENT = 50_000;
export const N_LIT = 100_000;
export const ENT_PCT = 70;

export const BATCH = 1000;
export const SINGLE = 10_000;
export const QUERIES = 10_000;
export const QUERY_WARMUP = 200;
export const JOINS = 1_000;
export const JOIN_WARMUP = 20;
/** RSS-flatness check: this many queries after warm-up, RSS sampled every RSS_STEP. */
export const RSS_QUERIES = 100_000;
export const RSS_STEP = 10_000;

export interface Triple {
  readonly s: string;
  readonly p: string;
  readonly o: string;
  /** Object is a literal (raw/levelgraph store it as "\"v123\"", quadstore as an RDF literal). */
  readonly lit: boolean;
}

/** A pattern: undefined positions are variables. */
export interface TriplePattern {
  readonly s?: string;
  readonly p?: string;
  readonly o?: string;
  readonly lit?: boolean;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export function triple(i: number): Triple {
  const a = mix32((i * 4 + 0) ^ SEED);
  const b = mix32((i * 4 + 1) ^ SEED);
  const c = mix32((i * 4 + 2) ^ SEED);
  const d = mix32((i * 4 + 3) ^ SEED);
  const isEnt = c % 100 < ENT_PCT;
  return { s: 's' + (a % N_SUBJ), p: 'p' + (b % N_PRED), o: isEnt ? 'e' + (d % N_ENT) : 'v' + (d % N_LIT), lit: !isEnt };
}

/** The object as a plain string (how raw and Vesper store it): literals keep their quotes. */
export function objectText(t: { o?: string; lit?: boolean }): string {
  return t.lit ? '"' + t.o + '"' : (t.o as string);
}

/** mulberry32: the query-sampling PRNG, one stream per phase. */
export function prng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export const SHAPES: Record<string, (t: Triple) => TriplePattern> = {
  'sp?': (t) => ({ s: t.s, p: t.p }),
  '?po': (t) => ({ p: t.p, o: t.o, lit: t.lit }),
  's??': (t) => ({ s: t.s }),
  '??o': (t) => ({ o: t.o, lit: t.lit }),
};
export const SHAPE_NAMES = Object.keys(SHAPES);

/** The query samples of one shape (same seeds as the peer bench: 1000 + shape index). */
export function querySamples(shapeIndex: number, n: number, count = QUERIES, seed = 1000 + shapeIndex): TriplePattern[] {
  const mk = SHAPES[SHAPE_NAMES[shapeIndex] as string] as (t: Triple) => TriplePattern;
  const rnd = prng(seed);
  const out: TriplePattern[] = [];
  for (let k = 0; k < count; k++) out.push(mk(triple(Math.floor(rnd() * n))));
  return out;
}

export type JoinSample = readonly [p1: string, o: Triple, p2: string];

/** `?x p1 o . ?x p2 ?y` with (p1, o) from a loaded triple and p2 ≠ p1 (same seed as the peers). */
export function joinSamples(n: number): JoinSample[] {
  const rnd = prng(4242);
  const js: JoinSample[] = [];
  for (let k = 0; k < JOINS; k++) {
    const t = triple(Math.floor(rnd() * n));
    const p1i = Number(t.p.slice(1));
    const p2 = 'p' + ((p1i + 1 + Math.floor(rnd() * (N_PRED - 1))) % N_PRED);
    js.push([t.p, t, p2]);
  }
  return js;
}

// ---------------------------------------------------------------- measuring

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const maxRssMB = (): number => process.resourceUsage().maxRSS / 1024;
export const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;
export const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

export interface LatencyStats {
  readonly n: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly mean_ms: number;
  readonly ops_s: number;
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function latencyStats(lat: ArrayLike<number>): LatencyStats {
  const s = Float64Array.from(lat).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return { n: s.length, p50_ms: pct(s, 50), p99_ms: pct(s, 99), mean_ms: sum / s.length, ops_s: s.length / (sum / 1000) };
}

/** Least-squares slope of ys against 0..n-1. */
export function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export interface LevelStats {
  getProperty(name: string): string;
}

/** Wait until LevelDB's background compaction is idle: `leveldb.stats` unchanged for 1 s and L0 < 4 files. */
export async function settle(levels: readonly LevelStats[], capS = 120): Promise<number> {
  const t0 = nowMs();
  let last: string | null = null;
  let same = 0;
  while ((nowMs() - t0) / 1000 < capS) {
    await new Promise((r) => setTimeout(r, 250));
    const s = levels.map((l) => l.getProperty('leveldb.stats')).join('\n');
    const l0 = Math.max(...levels.map((l) => Number(l.getProperty('leveldb.num-files-at-level0'))));
    same = s === last && l0 < 4 ? same + 1 : 0;
    last = s;
    if (same >= 4) break;
  }
  return (nowMs() - t0) / 1000;
}

export function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir]).toString().split(/\s+/)[0]);
}
