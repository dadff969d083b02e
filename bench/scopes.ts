/**
 * Scopes bench (`node --import tsx --expose-gc bench/scopes.ts`; also `runScopesBench()` from
 * bench/run.ts), through the scope and query services over the real store (classic-level):
 * - fork of a scope holding 10k and 1M facts (target < 5 ms each, ratio ≤ 2);
 * - diff and merge after 100 changes (50 added, 25 retracted, 25 changed) on a 10k- and a 1M-fact
 *   scope (target < 50 ms at 1M and ≤ 2× the 10k figure);
 * - point ask (`item(i, ?v)`) on a scope 1, 5 and 20 layers deep (target: ≤ 1.5× the un-forked
 *   scope at depth 5).
 * Env: BENCH_SCOPES_LARGE (1000000), BENCH_SCOPES_SMALL (10000), BENCH_SCOPES_ASKS (2000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { type FactInput, MAIN_SCOPE } from '../src/domain/fact.js';
import type { TenantAddress } from '../src/service/address.js';
import { QueryService } from '../src/service/query.js';
import { RuleService } from '../src/service/rules.js';
import { ScopeService } from '../src/service/scopes.js';
import { BackgroundRunner } from '../src/store/background.js';
import { Catalog } from '../src/store/catalog.js';
import type { LevelDb } from '../src/store/level-types.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const DATABASE = 'bench';

const item = (i: number, value: number | string, scope = MAIN_SCOPE): FactInput => ({
  predicate: 'item', args: [`i${i}`, value], negated: false, scope, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

interface Harness {
  readonly catalog: Catalog;
  readonly scopes: ScopeService;
  readonly query: QueryService;
}

async function load(h: Harness, tenant: string, size: number): Promise<void> {
  const store = (await h.catalog.forWrite(DATABASE)).database.tenant(tenant);
  for (let i = 0; i < size; i += 5000) {
    await store.tell(Array.from({ length: Math.min(5000, size - i) }, (_, k) => item(i + k, (i + k) % 997)), Date.now());
  }
}

export interface ScopeSizeResult {
  readonly facts: number;
  readonly forkMs: number;
  readonly diffMs: number;
  readonly mergeMs: number;
  readonly diffRows: number;
}

/** Fork a loaded tenant's main, change 100 facts in the fork, then diff and merge it back. */
async function forkDiffMerge(h: Harness, tenant: string, size: number): Promise<ScopeSizeResult> {
  await load(h, tenant, size);
  const address: TenantAddress = { database: DATABASE, tenant };
  const forks: number[] = [];
  for (let i = 0; i < 5; i++) forks.push((await timed(() => h.scopes.fork(address, MAIN_SCOPE, `probe-${i}`)))[1]);
  await h.scopes.fork(address, MAIN_SCOPE, 'work');
  const store = (await h.catalog.forWrite(DATABASE)).database.tenant(tenant);
  const now = Date.now();
  await store.tell(Array.from({ length: 50 }, (_, k) => item(size + k, 'new', 'work')), now);
  for (let k = 0; k < 25; k++) await store.retract('work', { predicate: 'item', args: [`i${k}`, k % 997], negated: false }, now);
  await store.tell(Array.from({ length: 25 }, (_, k) => ({ ...item(100 + k, (100 + k) % 997, 'work'), confidence: 0.5 })), now);
  const [page, diffMs] = await timed(() => h.scopes.diff(address, 'work', MAIN_SCOPE, 1000, null));
  const [, mergeMs] = await timed(() => h.scopes.merge(address, 'work', MAIN_SCOPE, 'SOURCE_WINS'));
  return { facts: size, forkMs: median(forks), diffMs, mergeMs, diffRows: page.onlyInSource.length + page.onlyInTarget.length + page.conflicts.length };
}

/** p50 of point asks on the deepest scope of a chain of forks, each fork with one change. */
async function askAtDepths(h: Harness, size: number, asks: number): Promise<Map<number, number>> {
  const tenant = 'depth';
  await load(h, tenant, size);
  const address: TenantAddress = { database: DATABASE, tenant };
  const store = (await h.catalog.forWrite(DATABASE)).database.tenant(tenant);
  const results = new Map<number, number>();
  let scope = MAIN_SCOPE;
  for (let depth = 0; depth <= 20; depth++) {
    if (depth > 0) {
      const next = `d${depth}`;
      await h.scopes.fork(address, scope, next);
      await store.tell([item(size + depth, 'changed', next)], Date.now());
      scope = next;
    }
    if (![0, 1, 5, 20].includes(depth)) continue;
    const times: number[] = [];
    for (let i = 0; i < asks; i++) {
      const key = `i${(i * 7919) % size}`;
      const [, ms] = await timed(() => h.query.ask(address, { predicate: 'item', args: [key, '?v'], negated: false, scope, limit: 100, infer: true, withProof: false, distinct: false }));
      times.push(ms);
    }
    results.set(depth, median(times.slice(Math.floor(asks / 10)))); // the first tenth warms up
  }
  return results;
}

export interface ScopesBenchResult {
  readonly small: ScopeSizeResult;
  readonly large: ScopeSizeResult;
  readonly askByDepth: Map<number, number>;
}

export async function runScopesBench(): Promise<ScopesBenchResult> {
  const dir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-scopes-bench-'));
  const catalog = await Catalog.open({
    dataDir: dir,
    durability: { syncEveryWrite: false, groupCommitMs: 100 },
    strictDatabases: false,
    openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
  });
  const clock = () => Date.now();
  const h: Harness = { catalog, scopes: new ScopeService(catalog, clock, new BackgroundRunner()), query: new QueryService(catalog, clock, new RuleService(catalog, clock)) };
  try {
    const small = await forkDiffMerge(h, 'small', env('BENCH_SCOPES_SMALL', 10_000));
    const large = await forkDiffMerge(h, 'large', env('BENCH_SCOPES_LARGE', 1_000_000));
    const askByDepth = await askAtDepths(h, env('BENCH_SCOPES_SMALL', 10_000) * 10, env('BENCH_SCOPES_ASKS', 2000));
    return { small, large, askByDepth };
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatScopesBench(r: ScopesBenchResult): string {
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  const forkRatio = r.large.forkMs / r.small.forkMs;
  const base = r.askByDepth.get(0) ?? NaN;
  const depth5 = (r.askByDepth.get(5) ?? NaN) / base;
  const rows = [
    `| measure | ${r.small.facts.toLocaleString('en')}-fact scope | ${r.large.facts.toLocaleString('en')}-fact scope | target | verdict |`,
    '|---|---|---|---|---|',
    `| fork (median of 5) | ${r.small.forkMs.toFixed(2)} ms | ${r.large.forkMs.toFixed(2)} ms (${forkRatio.toFixed(2)}×) | < 5 ms, ratio ≤ 2 | ${verdict(r.large.forkMs < 5 && r.small.forkMs < 5 && forkRatio <= 2)} |`,
    `| diff after 100 changes (${r.large.diffRows} rows) | ${r.small.diffMs.toFixed(2)} ms | ${r.large.diffMs.toFixed(2)} ms (${(r.large.diffMs / r.small.diffMs).toFixed(2)}×) | < 50 ms, ≤ 2× | ${verdict(r.large.diffMs < 50 && r.large.diffMs <= 2 * r.small.diffMs)} |`,
    `| merge after 100 changes | ${r.small.mergeMs.toFixed(2)} ms | ${r.large.mergeMs.toFixed(2)} ms (${(r.large.mergeMs / r.small.mergeMs).toFixed(2)}×) | < 50 ms, ≤ 2× | ${verdict(r.large.mergeMs < 50 && r.large.mergeMs <= 2 * r.small.mergeMs)} |`,
    '',
    '| point ask `item(i, ?v)` on a scope … | p50 ms | vs un-forked |',
    '|---|---|---|',
    ...[0, 1, 5, 20].map((d) => `| ${d === 0 ? 'un-forked (main)' : `${d} fork(s) deep`} | ${(r.askByDepth.get(d) ?? NaN).toFixed(3)} | ${((r.askByDepth.get(d) ?? NaN) / base).toFixed(2)}× |`),
    '',
    `Depth 5 vs un-forked: ${depth5.toFixed(2)}× (target ≤ 1.5×): ${verdict(depth5 <= 1.5)}.`,
  ];
  return rows.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(formatScopesBench(await runScopesBench()));
}
