/**
 * Single tells over HTTP: sequential (one client) against concurrent (50 clients), same server,
 * same run, so the ratio says what coalescing concurrent tells into group-committed batches buys.
 * Every request is a real POST /tell on the real server and is acknowledged after its batch is written.
 *
 *   node --import tsx bench/concurrent-tell.ts     (BENCH_TELLS: tells per phase, default 4000; BENCH_CLIENTS: 50)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const TELLS = Number(process.env.BENCH_TELLS || 4000);
const CLIENTS = Number(process.env.BENCH_CLIENTS || 50);
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

function tell(port: number, tenant: string, i: number): Promise<void> {
  const body = JSON.stringify({ predicate: 'reading', args: [`s${i % 97}`, i] });
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path: '/tell', method: 'POST', agent, headers: { 'X-Tenant-ID': tenant, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function phase(port: number, tenant: string, clients: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < TELLS; i = next++) await tell(port, tenant, i);
    }),
  );
  return TELLS / ((performance.now() - started) / 1000);
}

const dir = await mkdtemp(join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-concurrent-'));
const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dir, LOG_LEVEL: 'silent', VESPER_RATE_LIMIT: '0' }));
try {
  await phase(server.port, 'warmup', 4);
  const sequential = await phase(server.port, 'sequential', 1);
  const concurrent = await phase(server.port, 'concurrent', CLIENTS);
  console.log(JSON.stringify({ tells: TELLS, clients: CLIENTS, sequential: Math.round(sequential), concurrent: Math.round(concurrent), ratio: +(concurrent / sequential).toFixed(2) }));
} finally {
  await server.close();
  agent.destroy();
  await rm(dir, { recursive: true, force: true });
}
