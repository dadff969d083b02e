/**
 * The core workload through the real HTTP server on LevelDB and on PostgreSQL, in the same run
 * (`npm run bench:backends`, after `npm run pg:up`; VESPER_TEST_PG_URL overrides the local URL):
 * bulk tell (facts/s, 1,000 facts per request) and sequential point asks (one bound argument:
 * p50/p99 latency). No assertion: timings are never a test. Figures go to bench/RESULTS.md by hand,
 * as ratios of this run. Env: BENCH_FACTS (default 20000), BENCH_ASKS (default 1000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { PgClient } from '../src/store/backends/pg-client.js';

const url = process.env.VESPER_TEST_PG_URL || 'postgres://vesper@127.0.0.1:54321,127.0.0.1:54322/vesper';
const FACTS = Number(process.env.BENCH_FACTS ?? 20_000);
const ASKS = Number(process.env.BENCH_ASKS ?? 1_000);
const BATCH = 1_000;

interface Figures {
  tellPerSecond: number;
  askP50Ms: number;
  askP99Ms: number;
}

async function post(base: string, route: string, body: unknown): Promise<unknown> {
  const reply = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'bench' }, body: JSON.stringify(body) });
  const text = await reply.text();
  if (reply.status !== 200) throw new Error(`${route}: ${reply.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

async function workload(env: Record<string, string>): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-backends-'));
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dir, LOG_LEVEL: 'silent', VESPER_RATE_LIMIT: '0', ...env }));
  try {
    const start = process.hrtime.bigint();
    for (let i = 0; i < FACTS; i += BATCH) {
      const facts = Array.from({ length: Math.min(BATCH, FACTS - i) }, (_, j) => ({ predicate: 'item', args: [`s${i + j}`, i + j] }));
      await post(server.url, '/tell', { facts });
    }
    const tellPerSecond = FACTS / (Number(process.hrtime.bigint() - start) / 1e9);
    const latencies: number[] = [];
    for (let i = 0; i < ASKS; i++) {
      const n = (i * 7919) % FACTS;
      const t0 = process.hrtime.bigint();
      const reply = (await post(server.url, '/ask', { predicate: 'item', args: [`s${n}`, '?v'] })) as { results: unknown[] };
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (reply.results.length !== 1) throw new Error(`ask s${n}: ${reply.results.length} results`);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { tellPerSecond, askP50Ms: at(0.5), askP99Ms: at(0.99) };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const prefix = `bb${Date.now().toString(36)}_`;
const leveldb = await workload({});
const postgres = await workload({ VESPER_BACKEND: 'postgres', VESPER_PG_URL: url, VESPER_PG_TABLE_PREFIX: prefix });
const cleanup = new PgClient({ url, tablePrefix: prefix });
for (const row of await cleanup.sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND starts_with(table_name, ${prefix})`) {
  await cleanup.dropTable(row.table_name);
}
await cleanup.end();
console.log(`facts ${FACTS} (${BATCH} per tell), point asks ${ASKS}; PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')}`);
console.log('measure | LevelDB | PostgreSQL | PostgreSQL / LevelDB');
console.log(`bulk tell facts/s | ${leveldb.tellPerSecond.toFixed(0)} | ${postgres.tellPerSecond.toFixed(0)} | ${(postgres.tellPerSecond / leveldb.tellPerSecond).toFixed(2)}`);
console.log(`point ask p50 ms | ${leveldb.askP50Ms.toFixed(2)} | ${postgres.askP50Ms.toFixed(2)} | ${(postgres.askP50Ms / leveldb.askP50Ms).toFixed(2)}`);
console.log(`point ask p99 ms | ${leveldb.askP99Ms.toFixed(2)} | ${postgres.askP99Ms.toFixed(2)} | ${(postgres.askP99Ms / leveldb.askP99Ms).toFixed(2)}`);
