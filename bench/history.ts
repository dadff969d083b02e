/**
 * `npm run bench:history` (through `flock /tmp/bench.lock`): the cost of transaction time.
 * The same workload (bench/history-worker.ts) runs over this branch's store (history on) and over
 * the base commit's (history off: BENCH_HISTORY_BASE, default the merge-base with main, extracted
 * into bench/out/), alternating, BENCH_HISTORY_REPS times each:
 * - bulk tell (batches of 1000 new facts) and single tell: history on vs off, target ≥ 0.85×;
 * - point ask p50 now vs asOf an hour back, on BENCH_HISTORY_FACTS facts of which 10% were updated
 *   half an hour ago (asOf target ≤ 2× now);
 * - disk growth per upsert (data directory size around the 10% updates, LevelDB compaction included).
 * Env: BENCH_HISTORY_FACTS (200000), BENCH_HISTORY_SINGLES (2000), BENCH_HISTORY_ASKS (2000), BENCH_HISTORY_REPS (2).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const reps = Number(process.env.BENCH_HISTORY_REPS ?? 2);
const base = process.env.BENCH_HISTORY_BASE ?? execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: root, encoding: 'utf8' }).trim();
const baseDir = path.join(root, 'bench/out/history-base');
rmSync(baseDir, { recursive: true, force: true });
mkdirSync(baseDir, { recursive: true });
execFileSync('sh', ['-c', `git archive ${base} src | tar -x -C ${baseDir}`], { cwd: root });

interface Figures {
  facts: number;
  bulkFactsPerS: number;
  singleTellMs: number;
  bytesPerUpsert: number;
  askNowMs: number;
  askAsOfMs: number | null;
}
const run = (src: string, mode: string): Figures => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench/history-worker.ts'), src, mode], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as Figures;
};
const on: Figures[] = [];
const off: Figures[] = [];
const load: number[] = [loadavg()[0] ?? 0];
for (let i = 0; i < reps; i++) {
  off.push(run(path.join(baseDir, 'src'), 'now'));
  on.push(run(path.join(root, 'src'), 'asof'));
  load.push(loadavg()[0] ?? 0);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const m = (side: Figures[], k: keyof Figures) => med(side.map((f) => f[k] as number));
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const bulk = m(on, 'bulkFactsPerS') / m(off, 'bulkFactsPerS');
const single = m(off, 'singleTellMs') / m(on, 'singleTellMs');
const asOf = m(on, 'askAsOfMs') / m(on, 'askNowMs');
const nowVsBase = m(on, 'askNowMs') / m(off, 'askNowMs');
console.log(`history bench: ${on[0]?.facts.toLocaleString('en')} facts, base ${base.slice(0, 7)}, ${reps} reps each (medians), load average ${load.map((l) => l.toFixed(1)).join(' → ')}`);
console.log('| measure | history off (base) | history on | ratio | target | verdict |');
console.log('|---|---|---|---|---|---|');
console.log(`| bulk tell (facts/s) | ${m(off, 'bulkFactsPerS').toFixed(0)} | ${m(on, 'bulkFactsPerS').toFixed(0)} | ${bulk.toFixed(2)}× | ≥ 0.85× | ${verdict(bulk >= 0.85)} |`);
console.log(`| single tell p50 (ms) | ${m(off, 'singleTellMs').toFixed(3)} | ${m(on, 'singleTellMs').toFixed(3)} | ${single.toFixed(2)}× (throughput) | ≥ 0.85× | ${verdict(single >= 0.85)} |`);
console.log(`| point ask p50 now (ms) | ${m(off, 'askNowMs').toFixed(3)} | ${m(on, 'askNowMs').toFixed(3)} | ${nowVsBase.toFixed(2)}× | not slower | ${verdict(nowVsBase <= 1.1)} |`);
console.log(`| point ask p50 asOf 1 h back (ms) | – | ${m(on, 'askAsOfMs').toFixed(3)} | ${asOf.toFixed(2)}× now | ≤ 2× | ${verdict(asOf <= 2)} |`);
console.log(`| disk per upsert (bytes) | ${m(off, 'bytesPerUpsert').toFixed(0)} | ${m(on, 'bytesPerUpsert').toFixed(0)} | | | |`);
