/**
 * Top frames of a V8 .cpuprofile (from `node --cpu-prof`, or BENCH_CPU_PROF=<dir> npm run bench):
 * self and inclusive time per function, as a share of the sampled time.
 *
 *   node --import tsx bench/cpuprofile-top.ts <file.cpuprofile> [top=25] [fromUs toUs]
 *
 * fromUs/toUs (optional) keep only the samples in that window, in the profile's clock (monotonic µs,
 * = process.hrtime): bench/worker.ts reports each phase's window as `phases_us` in its JSON.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile-top.ts <file.cpuprofile> [top] [fromUs toUs]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const from = fromArg === undefined ? -Infinity : Number(fromArg);
const to = toArg === undefined ? Infinity : Number(toArg);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const short = url.includes('node_modules/') ? 'nm/' + url.split('node_modules/').pop() : url.split('/').slice(-2).join('/');
  return `${functionName || '(anonymous)'} ${short}${url ? ':' + (lineNumber + 1) : ''}`;
};

const timeById = new Map<number, number>();
let total = 0;
let t = profile.startTime;
profile.samples.forEach((id, i) => {
  const d = profile.timeDeltas[i] ?? 0;
  t += d;
  if (t < from || t > to) return;
  timeById.set(id, (timeById.get(id) ?? 0) + d);
  total += d;
});

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, time] of timeById) {
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + time);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const name = label(byId.get(cur)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + time);
  }
}

const print = (title: string, m: Map<string, number>) => {
  console.log(`--- ${title} (sampled ${(total / 1e6).toFixed(2)} s)`);
  for (const [name, time] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
};
print('self', self);
print('inclusive', inclusive);
