/**
 * `node --import tsx bench/ab.ts A B [scenario]`: two builds of the server (A and B: directories
 * holding a built `dist/`, e.g. two git worktrees) side by side on one machine, for a change to the
 * serving path whose effect is a few µs per request. Both are seeded alike, then short autocannon
 * runs alternate between them; what is compared is the server CPU time per request (user + system,
 * from /proc), the lowest of the runs and their median. On a machine others share, req/s moves
 * with their load; the lowest CPU µs/request of several runs moves less, but not by nothing: two
 * copies of one build differed by 8% at a load average of 10 (session 6). Trust a difference well
 * above that, seen again in a second run. Figures of record stay with `npm run bench:http` (req/s
 * against bare koa in one run).
 *
 * Scenarios: ask (point /ask, the default), tell (single /tell), diff (/context/diff), mixed (80/15/5).
 * Env: BENCH_AB_RUNS (8 per server), BENCH_AB_SECONDS (2), BENCH_AB_CONNECTIONS (20).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startChild } from './lib/child-server.js';

const [dirA, dirB, scenarioName = 'ask'] = process.argv.slice(2);
if (!dirA || !dirB) {
  process.stderr.write('usage: bench/ab.ts <dir A> <dir B> [ask|tell|diff|mixed]\n');
  process.exit(2);
}
const runs = Number(process.env.BENCH_AB_RUNS || 8);
const seconds = Number(process.env.BENCH_AB_SECONDS || 2);
const connections = Number(process.env.BENCH_AB_CONNECTIONS || 20);
const tenants = 100;
const facts = 100;

const pick = (n: number) => Math.floor(Math.random() * n);
let written = 0;
const body = (tenant: number, p: string, value: unknown) => ({
  method: 'POST' as const,
  path: p,
  headers: { 'content-type': 'application/json', 'x-tenant-id': `ab_t${tenant}` },
  body: JSON.stringify(value),
});
const ask = () => body(pick(tenants), '/ask', { predicate: 'knows', args: [`u${pick(facts)}`, '?y'] });
const tell = () => body(pick(tenants), '/tell', { predicate: 'seen', args: [`w${written++}`, pick(1000)] });
const diff = () => {
  const t = pick(tenants);
  return body(t, '/context/diff', { sessionId: `ab-${t}`, maxFacts: 10, predicates: ['knows'] });
};
const scenarios: Record<string, () => ReturnType<typeof body>> = {
  ask,
  tell,
  diff,
  mixed: () => {
    const r = Math.random();
    return r < 0.8 ? ask() : r < 0.95 ? tell() : diff();
  },
};
const next = scenarios[scenarioName];
if (!next) throw new Error(`unknown scenario ${scenarioName}`);

function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function seed(port: number): Promise<void> {
  for (let t = 0; t < tenants; t++) {
    const seedBody = body(t, '/tell', { facts: Array.from({ length: facts }, (_, i) => ({ predicate: 'knows', args: [`u${i}`, `u${(i * 7 + 1) % facts}`] })) });
    const reply = await fetch(`http://127.0.0.1:${port}/tell`, { method: 'POST', headers: seedBody.headers, body: seedBody.body });
    if (!reply.ok) throw new Error(`seed: ${reply.status} ${await reply.text()}`);
  }
}

async function once(port: number, pid: number | undefined): Promise<{ cpuUs: number; rate: number }> {
  const before = cpuSeconds(pid);
  const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests: [{ setupRequest: (r) => ({ ...r, ...next!() }) }] });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`non-2xx ${result.non2xx}, errors ${result.errors}: ${JSON.stringify(result.statusCodeStats)}`);
  return { cpuUs: ((cpuSeconds(pid) - before) * 1e6) / Math.max(result.requests.total, 1), rate: result.requests.average };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const servers = [];
  for (const dir of [dirA, dirB] as string[]) {
    const data = mkdtempSync(path.join(tmpdir(), 'vesper-ab-'));
    const started = await startChild(process.execPath, [path.join(path.resolve(dir), 'dist/main.js')], { PORT: '0', HOST: '127.0.0.1', VESPER_DATA: data, LOG_LEVEL: 'info' }, path.resolve(dir));
    started.child.stdout?.resume();
    await seed(started.port);
    servers.push({ dir, data, ...started, cpu: [] as number[], rate: [] as number[] });
  }
  try {
    for (const server of servers) await once(server.port, server.child.pid); // warm-up, not counted
    for (let r = 0; r < runs; r++) {
      for (const server of r % 2 ? [...servers].reverse() : servers) {
        const figure = await once(server.port, server.child.pid);
        server.cpu.push(figure.cpuUs);
        server.rate.push(figure.rate);
      }
    }
    for (const s of servers) {
      process.stdout.write(`${s.dir}: ${scenarioName} CPU µs/req min ${Math.min(...s.cpu).toFixed(1)} median ${median(s.cpu).toFixed(1)}; req/s max ${Math.max(...s.rate).toFixed(0)} median ${median(s.rate).toFixed(0)}\n`);
    }
  } finally {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      rmSync(s.data, { recursive: true, force: true });
    }
  }
}

await main();
