/**
 * Rules bench (`node --import tsx --expose-gc bench/rules.ts`; also `runRulesBench()` from
 * bench/run.ts). Transitive closure through Vesper's engine over the real store (classic-level,
 * one tenant), against a hand-written semi-naive loop over the same store in the same run:
 *   reach(?x, ?y) :- edge(?x, ?y).   reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).
 * Graph: a chain of CHAIN nodes plus random edges up to EDGES edges over NODES nodes (seeded).
 * Targets: full closure within 3× of the hand loop; single-source ≥ 10× faster than the full closure.
 * Env: BENCH_RULES_EDGES (10000), BENCH_RULES_NODES (10000), BENCH_RULES_CHAIN (200), BENCH_RULES_REPS (3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { type FactInput, MAIN_SCOPE } from '../src/domain/fact.js';
import { compileProgram, evaluateQuery, parseRules } from '../src/engine/index.js';
import type { FactSource } from '../src/engine/source.js';
import type { AskBody } from '../src/contract/query.js';
import { tenantFactSource } from '../src/service/fact-source.js';
import { QueryService } from '../src/service/query.js';
import { RuleService } from '../src/service/rules.js';
import { ScopeService } from '../src/service/scopes.js';
import { BackgroundRunner } from '../src/store/background.js';
import { Catalog } from '../src/store/catalog.js';
import type { LevelDb } from '../src/store/level-types.js';
import type { TenantReads } from '../src/store/tenant-store.js';
import { env, mulberry32 } from './lib/random.js';


function graph(nodes: number, edges: number, chain: number, seed = 42): [string, string][] {
  const random = mulberry32(seed);
  const out = new Map<string, [string, string]>();
  for (let i = 0; i + 1 < chain; i++) out.set(`n${i}>n${i + 1}`, [`n${i}`, `n${i + 1}`]);
  while (out.size < edges) {
    const a = `n${Math.floor(random() * nodes)}`;
    const b = `n${Math.floor(random() * nodes)}`;
    if (a !== b) out.set(`${a}>${b}`, [a, b]);
  }
  return [...out.values()];
}

/** The baseline: semi-naive closure by hand, reading edges once through the same port the engine uses. */
async function handClosure(source: FactSource): Promise<number> {
  const successors = new Map<string, string[]>();
  for await (const { args } of source.match({ predicate: 'edge', args: [undefined, undefined], negated: false })) {
    const [a, b] = args as [string, string];
    const list = successors.get(a);
    if (list) list.push(b);
    else successors.set(a, [b]);
  }
  const reach = new Map<string, Set<string>>();
  let delta: [string, string][] = [];
  for (const [a, bs] of successors) for (const b of bs) {
    let set = reach.get(a);
    if (!set) reach.set(a, (set = new Set()));
    if (!set.has(b)) {
      set.add(b);
      delta.push([a, b]);
    }
  }
  // reach(x, z) :- edge(x, y), reach(y, z): new reach(y, z) facts extend every x with edge(x, y).
  const predecessors = new Map<string, string[]>();
  for (const [a, bs] of successors) for (const b of bs) (predecessors.get(b) ?? predecessors.set(b, []).get(b))?.push(a);
  let total = delta.length;
  while (delta.length > 0) {
    const next: [string, string][] = [];
    for (const [y, z] of delta) {
      for (const x of predecessors.get(y) ?? []) {
        let set = reach.get(x);
        if (!set) reach.set(x, (set = new Set()));
        if (!set.has(z)) {
          set.add(z);
          next.push([x, z]);
        }
      }
    }
    total += next.length;
    delta = next;
  }
  return total;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export interface RulesBenchResult {
  readonly edges: number;
  readonly nodes: number;
  readonly closureSize: number;
  readonly handMs: number;
  readonly engineFullMs: number;
  readonly singleSourceMs: number;
  readonly singleSourceAnswers: number;
  /** From the head of the chain, which reaches the most. */
  readonly chainHeadMs: number;
  readonly chainHeadAnswers: number;
  readonly manyScopes: ManyScopesResult;
}

export interface ManyScopesResult {
  readonly scopes: number;
  readonly edited: number;
  /** `reach(n0, ?y)` through the query service in scope main, and over all scopes. */
  readonly oneScopeMs: number;
  readonly allScopesMs: number;
  readonly answers: number;
}

/**
 * An all-scope ask on a tenant with many scopes: SCOPES forks of main, EDITED of them with an
 * edge of their own that the asked source reaches. Each scope derives in its own view; shared
 * reads and reuse of equal scopes' answers keep the cost near (EDITED + 1) evaluations.
 */
async function manyScopes(catalog: Catalog, reps: number): Promise<ManyScopesResult> {
  const clock = () => Date.now();
  const rules = new RuleService(catalog, clock);
  const query = new QueryService(catalog, clock, rules);
  const scopes = new ScopeService(catalog, clock, new BackgroundRunner());
  const address = { database: 'bench', tenant: 'graph' };
  await rules.addTenantText(address, 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).', null);
  const count = env('BENCH_RULES_SCOPES', 100);
  const edited = env('BENCH_RULES_SCOPES_EDITED', 10);
  const tenant = (await catalog.forWrite('bench')).database.tenant('graph');
  for (let i = 0; i < count; i++) {
    await scopes.fork(address, MAIN_SCOPE, `s${i}`);
    if (i < edited) {
      const fact: FactInput = { predicate: 'edge', args: ['n10', `extra${i}`], negated: false, scope: `s${i}`, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null };
      await tenant.tell([fact], Date.now());
    }
  }
  const ask = (scope: string | null): AskBody => ({ predicate: 'reach', args: ['n0', '?y'], negated: false, scope, limit: 10_000, infer: true, withProof: false, distinct: false });
  const one: number[] = [];
  const all: number[] = [];
  let answers = 0;
  for (let r = 0; r < reps; r++) {
    let started = performance.now();
    await query.ask(address, ask(MAIN_SCOPE));
    one.push(performance.now() - started);
    started = performance.now();
    answers = (await query.ask(address, ask(null))).results.length;
    all.push(performance.now() - started);
  }
  return { scopes: count + 1, edited, oneScopeMs: median(one), allScopesMs: median(all), answers };
}

export async function runRulesBench(): Promise<RulesBenchResult> {
  const edgesWanted = env('BENCH_RULES_EDGES', 10_000);
  const nodes = env('BENCH_RULES_NODES', 10_000);
  const reps = env('BENCH_RULES_REPS', 3);
  const dir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-rules-bench-'));
  const catalog = await Catalog.open({
    dataDir: dir,
    durability: { syncEveryWrite: false, groupCommitMs: 100 },
    strictDatabases: false,
    openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
  });
  try {
    const tenant = (await catalog.forWrite('bench')).database.tenant('graph');
    const edges = graph(nodes, edgesWanted, env('BENCH_RULES_CHAIN', 200));
    const now = Date.now();
    const input = edges.map(([a, b]): FactInput => ({ predicate: 'edge', args: [a, b], negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null }));
    for (let i = 0; i < input.length; i += 1000) await tenant.tell(input.slice(i, i + 1000), now);
    // The bench holds one reader for all its repetitions (nothing writes meanwhile).
    let release = () => undefined as void;
    const reads = await new Promise<TenantReads>((resolve) => {
      void tenant.read(now, (r) => {
        resolve(r);
        return new Promise<void>((done) => (release = done));
      });
    });
    const view = reads.view(MAIN_SCOPE);
    if (!view) throw new Error('no main scope');
    const source = tenantFactSource(reads, view, now);
    const program = compileProgram(parseRules('reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).'));
    const query = (from: string | null) => ({
      literals: [{ kind: 'atom' as const, predicate: 'reach', negated: false, args: [from === null ? { kind: 'var' as const, name: 'x' } : { kind: 'const' as const, value: from }, { kind: 'var' as const, name: 'y' }] }],
    });
    const handTimes: number[] = [];
    const engineTimes: number[] = [];
    let closureSize = 0;
    for (let r = 0; r < reps; r++) {
      globalThis.gc?.();
      let started = performance.now();
      closureSize = await handClosure(source);
      handTimes.push(performance.now() - started);
      globalThis.gc?.();
      started = performance.now();
      const answers = await evaluateQuery(program, source, query(null));
      engineTimes.push(performance.now() - started);
      if (answers.length !== closureSize) throw new Error(`engine found ${answers.length} pairs, the hand loop ${closureSize}`);
    }
    const random = mulberry32(7);
    const singleTimes: number[] = [];
    const singleCounts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const from = `n${Math.floor(random() * nodes)}`;
      const started = performance.now();
      singleCounts.push((await evaluateQuery(program, source, query(from))).length);
      singleTimes.push(performance.now() - started);
    }
    const headStarted = performance.now();
    const chainHeadAnswers = (await evaluateQuery(program, source, query('n0'))).length;
    const chainHeadMs = performance.now() - headStarted;
    return {
      manyScopes: await manyScopes(catalog, reps),
      chainHeadMs,
      chainHeadAnswers,
      edges: edges.length,
      nodes,
      closureSize,
      handMs: median(handTimes),
      engineFullMs: median(engineTimes),
      singleSourceMs: median(singleTimes),
      singleSourceAnswers: median(singleCounts),
    };
    release();
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatRulesBench(r: RulesBenchResult): string {
  const ratio = r.engineFullMs / r.handMs;
  const speedup = r.engineFullMs / r.singleSourceMs;
  return [
    `Transitive closure: ${r.edges} edges over ${r.nodes} nodes (a 200-node chain plus random edges), ${r.closureSize} reach pairs`,
    '',
    '| measure | ms (median) | target | verdict |',
    '|---|---|---|---|',
    `| hand-written semi-naive loop over the store | ${r.handMs.toFixed(1)} | — | — |`,
    `| engine, full closure \`reach(?x, ?y)\` | ${r.engineFullMs.toFixed(1)} (${ratio.toFixed(2)}× hand) | ≤ 3× hand | ${ratio <= 3 ? 'met' : 'missed'} |`,
    `| engine, single source \`reach(n, ?y)\` (20 random n, median ${r.singleSourceAnswers} answers) | ${r.singleSourceMs.toFixed(2)} (${speedup.toFixed(0)}× faster than full) | ≥ 10× faster | ${speedup >= 10 ? 'met' : 'missed'} |`,
    `| engine, single source from the chain head \`reach(n0, ?y)\` (${r.chainHeadAnswers} answers) | ${r.chainHeadMs.toFixed(1)} (${(r.engineFullMs / r.chainHeadMs).toFixed(0)}× faster than full) | ≥ 10× faster | ${r.engineFullMs / r.chainHeadMs >= 10 ? 'met' : 'missed'} |`,
    '',
    `Many scopes: \`reach(n0, ?y)\` through the query service, ${r.manyScopes.scopes} scopes (main and forks of it; ${r.manyScopes.edited} forks with an edge of their own that n0 reaches), ${r.manyScopes.answers} answers over all scopes`,
    '',
    '| ask | ms (median) |',
    '|---|---|',
    `| scope \`main\` | ${r.manyScopes.oneScopeMs.toFixed(1)} |`,
    `| all ${r.manyScopes.scopes} scopes (each derives in its own view) | ${r.manyScopes.allScopesMs.toFixed(1)} (${(r.manyScopes.allScopesMs / r.manyScopes.oneScopeMs).toFixed(1)}× one scope; ${r.manyScopes.edited + 1} distinct views) |`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(formatRulesBench(await runRulesBench()));
}
