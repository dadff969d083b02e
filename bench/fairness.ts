/**
 * `npm run bench:fairness`: does one tenant's flood slow another tenant? A real server (its own
 * process) with two tenants: `quiet` (no limit) asks point queries over a few connections, alone,
 * then while `flood` (tier `pro`, 200 requests a minute) sends as fast as 50 connections allow,
 * once with `overflow: reject` and once with `overflow: queue`. Reported: quiet's p50/p99 in each
 * phase and their ratio to quiet alone, measured in the same run (reps interleaved, medians).
 * Each phase runs against two servers, fair admission off (VESPER_ADMISSION_PER_TURN=0, before)
 * and on (the default), so the before/after ratios come from one run on one machine load.
 *
 * Env: BENCH_FAIR_DURATION_S (6), BENCH_FAIR_REPS (3), BENCH_FAIR_QUIET_CONNECTIONS (4), BENCH_FAIR_FLOOD_CONNECTIONS (50).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startSourceServer } from './lib/child-server.js';

const durationS = Number(process.env.BENCH_FAIR_DURATION_S || 6);
const reps = Number(process.env.BENCH_FAIR_REPS || 3);
const quietConnections = Number(process.env.BENCH_FAIR_QUIET_CONNECTIONS || 4);
const floodConnections = Number(process.env.BENCH_FAIR_FLOOD_CONNECTIONS || 50);

const startServer = startSourceServer;

async function call(port: number, method: string, p: string, body: unknown, tenant?: string): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(tenant ? { 'x-tenant-id': tenant } : {}) };
  const reply = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers, body: JSON.stringify(body) });
  if (!reply.ok) throw new Error(`${method} ${p}: ${reply.status} ${await reply.text()}`);
  await reply.arrayBuffer();
}

function load(port: number, tenant: string, connections: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationS,
    requests: [{ method: 'POST', path: '/ask', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify({ predicate: 'knows', args: ['u1', '?y'] }) }],
  });
}

interface Phase {
  readonly p50: number;
  readonly p99: number;
  readonly quietRate: number;
  readonly flood2xx: number;
  readonly flood429: number;
}

async function phase(port: number, flood: 'none' | 'reject' | 'queue'): Promise<Phase> {
  if (flood !== 'none') await call(port, 'PUT', '/admin/databases/default/tenants/flood/settings', { overflow: flood });
  const [quiet, noisy] = await Promise.all([load(port, 'quiet', quietConnections), flood === 'none' ? null : load(port, 'flood', floodConnections)]);
  return {
    p50: quiet.latency.p50,
    p99: quiet.latency.p99,
    quietRate: quiet.requests.average,
    flood2xx: noisy?.['2xx'] ?? 0,
    flood429: noisy ? (noisy.statusCodeStats as Record<string, { count: number }>)['429']?.count ?? 0 : 0,
  };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Server {
  readonly admission: string;
  readonly port: number;
  readonly stop: () => Promise<void>;
}

async function serverWith(admission: string): Promise<Server> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-fair-'));
  const server = await startServer({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info', VESPER_RATE_LIMIT: '0', VESPER_ADMISSION_PER_TURN: admission });
  server.child.stdout?.resume();
  for (const tenant of ['quiet', 'flood']) {
    await call(server.port, 'POST', '/tell', { facts: Array.from({ length: 100 }, (_, i) => ({ predicate: 'knows', args: [`u${i}`, `u${(i * 7 + 1) % 100}`] })) }, tenant);
  }
  await call(server.port, 'PUT', '/admin/databases/default/tenants/flood/settings', { tier: 'pro', queueMaxMs: 2000 });
  return {
    admission,
    port: server.port,
    stop: async () => {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const servers = [await serverWith('0'), await serverWith(process.env.BENCH_FAIR_ADMISSION || '8')];
  try {
    const lines: string[] = [];
    const loads: string[] = [];
    const all = servers.map(() => ({ none: [] as Phase[], reject: [] as Phase[], queue: [] as Phase[] }));
    for (let rep = 0; rep < reps; rep++) {
      for (const name of ['none', 'reject', 'queue'] as const) {
        for (const [i, server] of servers.entries()) {
          const result = await phase(server.port, name);
          all[i]![name].push(result);
          loads.push(loadavg()[0]?.toFixed(1) ?? '?');
          process.stderr.write(`rep ${rep + 1} admission=${server.admission} flood=${name}: quiet p50 ${result.p50} ms p99 ${result.p99} ms ${result.quietRate.toFixed(0)} req/s; flood 2xx ${result.flood2xx} 429 ${result.flood429}\n`);
        }
      }
    }
    for (const [i, server] of servers.entries()) {
      const phases = all[i]!;
      const alone = median(phases.none.map((p) => p.p99));
      const aloneP50 = median(phases.none.map((p) => p.p50));
      const row = (label: string, runs: Phase[]) => {
        const p99 = median(runs.map((p) => p.p99));
        const p50 = median(runs.map((p) => p.p50));
        const flood = runs.reduce((n, p) => n + p.flood2xx, 0);
        const refused = runs.reduce((n, p) => n + p.flood429, 0);
        return `| ${label} | ${p50} (${(p50 / Math.max(aloneP50, 1)).toFixed(2)}×) | ${p99} (${(p99 / alone).toFixed(2)}×) | ${median(runs.map((p) => p.quietRate)).toFixed(0)} | ${flood} / ${refused} |`;
      };
      lines.push(
        `VESPER_ADMISSION_PER_TURN=${server.admission}${server.admission === '0' ? ' (fair admission off: before)' : ' (fair admission on)'}`,
        '',
        '| phase | quiet p50 ms (× alone) | quiet p99 ms (× alone) | quiet req/s | flood 2xx / 429 (all reps) |',
        '|---|---|---|---|---|',
        row('quiet alone', phases.none),
        row('during flood, overflow reject', phases.reject),
        row('during flood, overflow queue (2 s)', phases.queue),
        '',
      );
    }
    const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), 1-min load during phases ${loads.join(', ')}, node ${process.version}`;
    process.stdout.write([`${reps} reps × ${durationS} s; quiet: ${quietConnections} connections, flood: ${floodConnections} connections on tier pro (200/min); ${machine}`, '', ...lines].join('\n'));
  } finally {
    for (const server of servers) await server.stop();
  }
}

await main();
