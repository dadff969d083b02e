/**
 * Vesper benchmark orchestrator (`npm run bench`, `npm run bench:peers`).
 *
 * Runs the peer workload (bench/lib/workload.ts) for each size on Vesper's store and on the raw
 * classic-level 6-key hexastore (and, with --peers, on quadstore, quadstore + iterator-close
 * workaround and levelgraph), each (store, N, rep) in a fresh child process (bench/worker.ts) and a
 * fresh temp dir, stores interleaved with the starting store rotated per rep. Reports medians over
 * reps, the ratios Vesper/other, the targets, and writes bench/out/<timestamp>.json.
 *
 * Env:
 *   BENCH_SIZES       sizes, comma separated (default 100000,1000000)
 *   BENCH_REPS        repetitions (default 1)
 *   BENCH_PEER_SIZES  with --peers: sizes at which the peer stores run (default 100000; "all" = every size)
 *   BENCH_STORES      override the store list (comma separated)
 *   BENCH_TMP         temp root for the databases (default os.tmpdir())
 *   BENCH_PAUSE_MS    pause between child processes (default 2000)
 *   BENCH_QUIET_MAX_S before each child, wait up to this long for the CPU to be quiet (default 0: don't wait)
 *   BENCH_QUIET_PSI   "quiet" = /proc/pressure/cpu some avg10 below this (default 10)
 *   BENCH_CPU_PROF    a directory: run every worker under `node --cpu-prof` into it; the main thread's profile is
 *                     the largest CPU.*.<pid>.*.cpuprofile (tsx's loader thread writes a small one); summarise it
 *                     with bench/cpuprofile-top.ts and the run's phases_us windows
 *   BENCH_FEATURES    feature benches run after the store workload (default rules,scopes,context,stall; none = skip)
 *   plus the worker's BENCH_LOAD_CAP_S, BENCH_JOIN_CAP_S, BENCH_RSS_QUERIES
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const withPeers = process.argv.includes('--peers');

const CORE_STORES = ['vesper', 'raw'];
const PEER_STORES = ['quadstore', 'quadstore-closeiters', 'levelgraph'];
const LABEL: Record<string, string> = {
  vesper: 'Vesper (TenantStore, group commit)',
  raw: 'raw classic-level 3.0.0, 6 keys/triple',
  quadstore: 'quadstore 15.4.1 (stock)',
  'quadstore-closeiters': 'quadstore 15.4.1 + iterator-close workaround',
  levelgraph: 'levelgraph 4.0.0 on level@8 (classic-level 1.4.1)',
};
/** Targets (from the brief): bulk ≥ 2.5× quadstore's 37k/s as measured in shared/bench/peers. */
const QUADSTORE_ANCHOR = 37_000;
/** RSS counts as flat when it grows by at most this per 10k queries (least-squares over 10 samples). */
const FLAT_MB_PER_10K = 0.5;
const rssQueries = Number(process.env.BENCH_RSS_QUERIES || 100_000);

const sizes = (process.env.BENCH_SIZES || '100000,1000000').split(',').map((s) => Number(s.trim()));
const reps = Number(process.env.BENCH_REPS || 1);
const peerSizesEnv = process.env.BENCH_PEER_SIZES || '100000';
const peerSizes = peerSizesEnv === 'all' ? sizes : peerSizesEnv.split(',').map((s) => Number(s.trim()));
const pauseMs = Number(process.env.BENCH_PAUSE_MS ?? 2000);
const quietMaxS = Number(process.env.BENCH_QUIET_MAX_S ?? 0);
const quietPsi = Number(process.env.BENCH_QUIET_PSI ?? 10);
if (sizes.some((n) => !Number.isInteger(n) || n <= 0) || !(reps >= 1)) throw new Error('bad BENCH_SIZES / BENCH_REPS');

function storesFor(n: number): string[] {
  if (process.env.BENCH_STORES) return process.env.BENCH_STORES.split(',').map((s) => s.trim());
  return withPeers && peerSizes.includes(n) ? [...CORE_STORES, ...PEER_STORES] : CORE_STORES;
}

// ---------------------------------------------------------------- peers install (on demand)

function ensurePeers(): void {
  const dir = path.join(here, 'peers');
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const installed = Object.entries(pkg.dependencies).every(([name, spec]) => {
    const file = path.join(dir, 'node_modules', name, 'package.json');
    if (!existsSync(file)) return false;
    const version = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    return spec === version || spec.endsWith('@' + version);
  });
  if (installed) return;
  const lock = existsSync(path.join(dir, 'package-lock.json'));
  const args = lock ? ['ci', '--prefix', dir, '--no-audit', '--no-fund'] : ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund'];
  console.error(`installing peer stores: npm ${args.join(' ')}`);
  execFileSync('npm', args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

// ---------------------------------------------------------------- machine

const cpuPressure = (): number | null => {
  try {
    const m = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

function machine() {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args).toString().trim();
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: Number(sh('nproc', [])) || cpus().length,
    cpu_model: cpus()[0]?.model ?? null,
    mem_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: sh('uname', ['-srm']),
    loadavg: loadavg(),
    code: codeState(),
    versions: {
      'classic-level': readVersion(path.join(root, 'node_modules/classic-level')),
      'abstract-level': readVersion(path.join(root, 'node_modules/abstract-level')),
      ...(withPeers
        ? Object.fromEntries(
            ['quadstore', 'levelgraph', 'level8', 'rdf-data-factory', 'classic-level'].map((n) => [`peers/${n}`, readVersion(path.join(here, 'peers/node_modules', n))]),
          )
        : {}),
    },
  };
}

/** The store files on the benchmarked path (src/store has other files the bench never runs). */
const STORE_PATH = ['catalog.ts', 'fact-database.ts', 'tenant-store.ts', 'fact-reader.ts', 'level-types.ts', 'scope-registry.ts', 'event-log.ts', 'write-lock.ts'];

/** Which code was measured: HEAD, the uncommitted files under src/ (others edit it concurrently), a hash of the store code. */
function codeState() {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return null;
    }
  };
  const hash = createHash('sha256');
  for (const sub of ['src/encoding', 'src/domain']) {
    const dir = path.join(root, sub);
    if (existsSync(dir)) for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  }
  for (const file of STORE_PATH) {
    const full = path.join(root, 'src/store', file);
    if (existsSync(full)) hash.update(file).update(readFileSync(full));
  }
  return {
    head: git(['rev-parse', '--short', 'HEAD']),
    dirty_src: (git(['status', '--porcelain', '--', 'src']) ?? '').split('\n').filter(Boolean),
    store_code_sha256: hash.digest('hex').slice(0, 16),
  };
}

function readVersion(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- running

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Run = Record<string, any>;

function runWorker(store: string, n: number): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const meta = { load1_before: loadavg()[0], cpu_psi_before: cpuPressure() };
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
    const child = spawn(process.execPath, [...prof, '--expose-gc', '--import', 'tsx', path.join(here, 'worker.ts'), store, String(n)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const wall_s = (Date.now() - started) / 1000;
      const after = { load1_after: loadavg()[0], cpu_psi_after: cpuPressure(), wall_s, exit: code };
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ ...(JSON.parse(line) as Run), ...meta, ...after });
      } catch {
        resolve({ store, N: n, ok: false, error: `no JSON from worker (exit ${code}): ${out.slice(-500)}`, ...meta, ...after });
      }
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (at most BENCH_QUIET_MAX_S) until other processes leave the CPU alone; returns the seconds waited. */
async function waitQuiet(): Promise<number> {
  const t = Date.now();
  while (quietMaxS > 0 && (Date.now() - t) / 1000 < quietMaxS) {
    const psi = cpuPressure();
    if (psi === null || psi < quietPsi) break;
    await sleep(1000);
  }
  return (Date.now() - t) / 1000;
}

// ---------------------------------------------------------------- aggregation

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const METRICS: Record<string, (r: Run) => number | undefined> = {
  bulk: (r) => r.load?.triples_s,
  single: (r) => r.single_insert?.ops_s,
  'sp?_p50': (r) => r.query?.['sp?']?.p50_ms,
  'sp?_p99': (r) => r.query?.['sp?']?.p99_ms,
  '?po_p50': (r) => r.query?.['?po']?.p50_ms,
  '?po_p99': (r) => r.query?.['?po']?.p99_ms,
  's??_p50': (r) => r.query?.['s??']?.p50_ms,
  's??_p99': (r) => r.query?.['s??']?.p99_ms,
  '??o_p50': (r) => r.query?.['??o']?.p50_ms,
  '??o_p99': (r) => r.query?.['??o']?.p99_ms,
  join_p50: (r) => r.join?.p50_ms,
  join_p99: (r) => r.join?.p99_ms,
  join_ops: (r) => r.join?.ops_s,
  join_alt_p50: (r) => r.join_alt?.p50_ms,
  join_alt_p99: (r) => r.join_alt?.p99_ms,
  disk_settled_mb: (r) => (r.disk_settled_bytes === undefined ? undefined : r.disk_settled_bytes / 1e6),
  disk_end_mb: (r) => (r.disk_final_bytes === undefined ? undefined : r.disk_final_bytes / 1e6),
  peak_rss_mb: (r) => r.maxrss_mb,
  rss_first_mb: (r) => r.rss_flat?.first_mb,
  rss_last_mb: (r) => r.rss_flat?.last_mb,
  rss_slope: (r) => r.rss_flat?.slope_mb_per_10k,
};

interface Summary {
  store: string;
  N: number;
  ok: number;
  reps: number;
  median: Record<string, number>;
  min: Record<string, number>;
  max: Record<string, number>;
  join_label?: string;
  join_alt_label?: string;
  join_capped: boolean;
  avg_rows: Record<string, number>;
}

function summarise(runs: Run[], store: string, n: number): Summary | null {
  const mine = runs.filter((r) => r.store === store && r.N === n);
  if (mine.length === 0) return null;
  const ok = mine.filter((r) => r.ok);
  const s: Summary = { store, N: n, ok: ok.length, reps: mine.length, median: {}, min: {}, max: {}, join_capped: ok.some((r) => r.join?.capped), avg_rows: {} };
  for (const [name, get] of Object.entries(METRICS)) {
    const xs = ok.map(get).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (xs.length === 0) continue;
    s.median[name] = median(xs);
    s.min[name] = Math.min(...xs);
    s.max[name] = Math.max(...xs);
  }
  const first = ok[0];
  if (first) {
    s.join_label = first.join_label;
    s.join_alt_label = first.join_alt_label;
    for (const [shape, q] of Object.entries(first.query ?? {})) s.avg_rows[shape] = (q as { avg_rows: number }).avg_rows;
    if (first.join) s.avg_rows.join = first.join.avg_rows;
  }
  return s;
}

// ---------------------------------------------------------------- formatting

const f = (x: number | undefined, digits = 0): string => (x === undefined ? '–' : x.toFixed(digits));
const ms = (x: number | undefined): string => (x === undefined ? '–' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const pair = (s: Summary, k: string) => `${ms(s.median[`${k}_p50`])}/${ms(s.median[`${k}_p99`])}`;
const spread = (s: Summary, k: string, digits = 0) =>
  s.ok > 1 ? `${f(s.median[k], digits)} (${f(s.min[k], digits)}–${f(s.max[k], digits)})` : f(s.median[k], digits);

function mainTable(summaries: Summary[]): string {
  const head =
    `| store | reps ok | bulk tell facts/s | single tell ops/s | sp? p50/p99 ms | ?po p50/p99 ms | s?? p50/p99 ms | ??o p50/p99 ms | join p50/p99 ms | disk settled MB | disk end MB | peak RSS MB | RSS over ${rssQueries / 1000}k queries: first→last MB (slope MB/10k) |`;
  const rows = summaries.map(
    (s) =>
      `| ${LABEL[s.store] ?? s.store} | ${s.ok}/${s.reps} | ${spread(s, 'bulk')} | ${spread(s, 'single')} | ${pair(s, 'sp?')} | ${pair(s, '?po')} | ${pair(s, 's??')} | ${pair(s, '??o')} | ${pair(s, 'join')}${s.join_capped ? ' (capped)' : ''} | ${f(s.median.disk_settled_mb, 1)} | ${f(s.median.disk_end_mb, 1)} | ${f(s.median.peak_rss_mb)} | ${f(s.median.rss_first_mb)}→${f(s.median.rss_last_mb)} (${f(s.median.rss_slope, 2)}) |`,
  );
  return [head, '|' + '---|'.repeat(13), ...rows].join('\n');
}

function joinTable(summaries: Summary[]): string {
  const rows = summaries
    .filter((s) => s.median.join_p50 !== undefined)
    .map((s) => `| ${LABEL[s.store] ?? s.store} | ${s.join_label ?? ''}: ${pair(s, 'join')} | ${s.join_alt_label ? `${s.join_alt_label}: ${pair(s, 'join_alt')}` : '–'} |`);
  return ['| store | join p50/p99 ms | alternative join p50/p99 ms |', '|---|---|---|', ...rows].join('\n');
}

/** Vesper / other: > 1 is better for throughputs, < 1 is better for latencies, disk and RSS. */
function ratioTable(v: Summary, others: Summary[]): string {
  const r = (k: string, o: Summary) => {
    const a = v.median[k];
    const b = o.median[k];
    return a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2) + '×';
  };
  const rows = others.map(
    (o) =>
      `| Vesper / ${LABEL[o.store] ?? o.store} | ${r('bulk', o)} | ${r('single', o)} | ${r('sp?_p50', o)} | ${r('?po_p50', o)} | ${r('s??_p50', o)} | ${r('??o_p50', o)} | ${r('join_p50', o)} | ${r('disk_settled_mb', o)} | ${r('disk_end_mb', o)} | ${r('peak_rss_mb', o)} |`,
  );
  return [
    '| ratio (medians) | bulk tell ↑ | single tell ↑ | sp? p50 ↓ | ?po p50 ↓ | s?? p50 ↓ | ??o p50 ↓ | join p50 ↓ | disk settled ↓ | disk end ↓ | peak RSS ↓ |',
    '|' + '---|'.repeat(11),
    ...rows,
  ].join('\n');
}

function targetTable(v: Summary, raw: Summary | undefined, qs: Summary | undefined): string {
  const rows: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const bulk = v.median.bulk ?? NaN;
  if (raw) {
    const b = bulk / (raw.median.bulk ?? NaN);
    rows.push(`| bulk tell ≥ 1.0× raw 6-key rate | ${b.toFixed(2)}× (${f(bulk)} vs ${f(raw.median.bulk)} /s) | ${verdict(b >= 1)} |`);
  }
  rows.push(
    `| bulk tell ≥ 2.5× quadstore's 37k/s (= 92.5k/s, shared/bench/peers anchor) | ${f(bulk)} /s = ${(bulk / QUADSTORE_ANCHOR).toFixed(2)}× 37k | ${verdict(bulk >= 2.5 * QUADSTORE_ANCHOR)} |`,
  );
  if (qs) {
    const q = bulk / (qs.median.bulk ?? NaN);
    rows.push(`| bulk tell ≥ 2.5× quadstore measured in this run | ${q.toFixed(2)}× (quadstore ${f(qs.median.bulk)} /s) | ${verdict(q >= 2.5)} |`);
  }
  if (raw) {
    const s = (v.median.single ?? NaN) / (raw.median.single ?? NaN);
    rows.push(`| single tell ≥ 0.9× raw | ${s.toFixed(2)}× (${f(v.median.single)} vs ${f(raw.median.single)} /s) | ${verdict(s >= 0.9)} |`);
    for (const shape of ['sp?', '?po', 's??', '??o']) {
      const q = (v.median[`${shape}_p50`] ?? NaN) / (raw.median[`${shape}_p50`] ?? NaN);
      const best = (v.min[`${shape}_p50`] ?? NaN) / (raw.min[`${shape}_p50`] ?? NaN);
      rows.push(
        `| ${shape} p50 ≤ 1.2× raw | ${q.toFixed(2)}× (${ms(v.median[`${shape}_p50`])} vs ${ms(raw.median[`${shape}_p50`])} ms)${v.ok > 1 ? `; best rep of each: ${best.toFixed(2)}× (${ms(v.min[`${shape}_p50`])} vs ${ms(raw.min[`${shape}_p50`])})` : ''} | ${verdict(q <= 1.2)} |`,
      );
    }
  }
  const slope = v.median.rss_slope ?? NaN;
  rows.push(
    `| RSS flat over ${rssQueries / 1000}k queries (slope ≤ ${FLAT_MB_PER_10K} MB/10k) | ${f(v.median.rss_first_mb)}→${f(v.median.rss_last_mb)} MB, ${f(slope, 2)} MB/10k | ${verdict(slope <= FLAT_MB_PER_10K)} |`,
  );
  return ['| target | measured | verdict |', '|---|---|---|', ...rows].join('\n');
}

// ---------------------------------------------------------------- main

interface Plan {
  readonly n: number;
  readonly stores: string[];
}

function render(info: ReturnType<typeof machine>, runs: Run[], plan: readonly Plan[], reps: number, wallMin: number, codeEnd: ReturnType<typeof codeState>): { markdown: string; summaries: Summary[] } {
  const summaries: Summary[] = [];
  for (const { n, stores } of plan) for (const s of stores) summaries.push(summarise(runs, s, n)!);
  const md: string[] = [];
  md.push(
    `Machine: ${info.nproc}× ${info.cpu_model}, ${info.mem_gb} GB, node ${info.node}, ${info.date}; ${reps} rep(s), median${reps > 1 ? ' (min–max)' : ''}; wall ${wallMin.toFixed(1)} min; load1 per run ${f(Math.min(...runs.map((r) => r.load1_before)), 2)}–${f(Math.max(...runs.map((r) => r.load1_after)), 2)}`,
  );
  md.push(
    `Code: HEAD ${info.code.head}, store code sha256 ${info.code.store_code_sha256}${info.code.dirty_src.length ? `, ${info.code.dirty_src.length} uncommitted file(s) under src/` : ''}` +
      (codeEnd.store_code_sha256 !== info.code.store_code_sha256 ? ` — WARNING: the benchmarked store code changed during the run (now ${codeEnd.store_code_sha256})` : ''),
  );
  for (const { n } of plan) {
    const atN = summaries.filter((s) => s.N === n);
    const v = atN.find((s) => s.store === 'vesper');
    md.push(`\n### N = ${n.toLocaleString('en-US')} triples\n`);
    md.push(mainTable(atN));
    const rows = v ? Object.entries(v.avg_rows).map(([k, x]) => `${k}: ${x.toFixed(2)}`).join(', ') : '';
    if (rows) md.push(`\nMean rows per query (Vesper): ${rows}\n`);
    md.push(joinTable(atN));
    if (v) {
      const others = atN.filter((s) => s.store !== 'vesper');
      if (others.length) md.push('\n' + ratioTable(v, others));
      md.push('\n' + targetTable(v, atN.find((s) => s.store === 'raw'), atN.find((s) => s.store === 'quadstore')));
    }
  }
  return { markdown: md.join('\n'), summaries };
}

function pickEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')) as [string, string][]);
}

const reportIndex = process.argv.indexOf('--report');
if (reportIndex >= 0) {
  // Re-render a recorded run: node --import tsx bench/run.ts --report bench/out/<file>.json
  const file = process.argv[reportIndex + 1];
  if (!file) throw new Error('--report needs a bench/out/*.json file');
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    machine: ReturnType<typeof machine>;
    config: { sizes: number[]; reps: number };
    code_end?: ReturnType<typeof codeState>;
    runs: Run[];
    markdown: string;
    wall_min?: number;
  };
  const plan = saved.config.sizes.map((n) => ({ n, stores: [...new Set(saved.runs.filter((r) => r.N === n).map((r) => r.store as string))] }));
  const wall = saved.wall_min ?? Number(/wall ([\d.]+) min/.exec(saved.markdown)?.[1] ?? NaN);
  console.log(render(saved.machine, saved.runs, plan, saved.config.reps, wall, saved.code_end ?? saved.machine.code).markdown);
  process.exit(0);
}

if (withPeers) ensurePeers();
const info = machine();
const plan: Plan[] = sizes.map((n) => ({ n, stores: storesFor(n) }));
const total = plan.reduce((a, p) => a + p.stores.length, 0) * reps;
console.error(`bench: sizes ${sizes.join(', ')}, reps ${reps}, ${total} runs; ${info.nproc}× ${info.cpu_model}, node ${info.node}, load ${info.loadavg.map((x) => x.toFixed(2)).join(' ')}`);

const runs: Run[] = [];
const t0 = Date.now();
let done = 0;
for (let rep = 1; rep <= reps; rep++) {
  for (const { n, stores } of plan) {
    for (let k = 0; k < stores.length; k++) {
      const store = stores[(k + rep - 1) % stores.length] as string; // rotate the starting store each rep
      try {
        execFileSync('sync');
      } catch {
        /* no sync(1): fine */
      }
      await sleep(pauseMs);
      const quietWaitS = await waitQuiet();
      const r = await runWorker(store, n);
      r.quiet_wait_s = quietWaitS;
      r.rep = rep;
      runs.push(r);
      done++;
      console.error(
        `  [${done}/${total}] rep ${rep} N=${n} ${store}: ${r.ok ? 'ok' : 'FAILED ' + String(r.error).split('\n')[0]} wall ${r.wall_s.toFixed(0)}s load1 ${r.load1_before.toFixed(2)}→${r.load1_after.toFixed(2)} cpu-psi ${r.cpu_psi_before}→${r.cpu_psi_after}${quietMaxS > 0 ? ` (waited ${quietWaitS.toFixed(0)}s for quiet)` : ''}`,
      );
    }
  }
}

const wallMin = (Date.now() - t0) / 60000;
const codeEnd = codeState();
const { markdown, summaries } = render(info, runs, plan, reps, wallMin, codeEnd);
const outDir = path.join(here, 'out');
mkdirSync(outDir, { recursive: true });
const outFile = path.join(outDir, `${info.date.replace(/[:.]/g, '-')}${withPeers ? '-peers' : ''}.json`);
writeFileSync(
  outFile,
  JSON.stringify({ machine: info, config: { sizes, reps, withPeers, peerSizes, env: pickEnv() }, code_end: codeEnd, wall_min: wallMin, summaries, runs, markdown }, null, 1),
);
console.log(markdown);
console.error(`\nwrote ${path.relative(root, outFile)}`);

// The feature benches (issues 3–5), each in its own child process so their heaps and LevelDBs do
// not share this one. BENCH_FEATURES picks which (default rules,scopes,context,stall; "none" skips them).
const parts = (process.env.BENCH_FEATURES || 'rules,scopes,context,stall').split(',').map((s) => s.trim());
for (const part of ['rules', 'scopes', 'context', 'stall'].filter((p) => parts.includes(p))) {
  console.log(`\n## ${part}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(here, `${part}.ts`)], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) console.error(`bench/${part}.ts exited with ${code}`);
}
