/**
 * Raw rates of PostgresLevel against classic-level, measured in the same run (`npm run bench:pg`,
 * after `npm run pg:up`; VESPER_TEST_PG_URL overrides the local URL). Same keys, values and
 * operations on both: sequential awaited puts, 1,000-op batches, sequential point gets, and one full
 * iteration. The figures and their ratios go to bench/RESULTS.md by hand. No assertion: timings are
 * never a test.
 *
 * Env: BENCH_PG_KEYS (default 20000) keys in batches; BENCH_PG_PUTS (default 500) sequential puts;
 * BENCH_PG_GETS (default 2000) sequential gets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { PgClient } from '../src/store/backends/pg-client.js';
import { PostgresLevel } from '../src/store/backends/postgres-level.js';

const url = process.env.VESPER_TEST_PG_URL || 'postgres://vesper@127.0.0.1:54321,127.0.0.1:54322/vesper';
const KEYS = Number(process.env.BENCH_PG_KEYS ?? 20_000);
const PUTS = Number(process.env.BENCH_PG_PUTS ?? 500);
const GETS = Number(process.env.BENCH_PG_GETS ?? 2_000);

/** What the workload uses of an abstract-level database with string keys and values. */
interface Db {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  batch(operations: { type: 'put'; key: string; value: string }[]): Promise<void>;
  iterator(range: { gte: string; lte: string }): AsyncIterable<[string, string]>;
}
type Rates = Record<string, number>;

const key = (i: number) => `t/acme/spo/${String(i).padStart(8, '0')}`;
const value = (i: number) => JSON.stringify({ predicate: 'p', args: [`s${i}`, i], version: 1 });

async function rate(label: string, count: number, rates: Rates, run: () => Promise<void>): Promise<void> {
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rates[label] = count / seconds;
}

async function workload(db: Db): Promise<Rates> {
  const rates: Rates = {};
  await db.open();
  await rate('put/s (sequential, awaited)', PUTS, rates, async () => {
    for (let i = 0; i < PUTS; i++) await db.put(`seq/${i}`, value(i));
  });
  await rate('batched put/s (1,000 per batch)', KEYS, rates, async () => {
    for (let i = 0; i < KEYS; i += 1000) {
      await db.batch(Array.from({ length: Math.min(1000, KEYS - i) }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: value(i + j) })));
    }
  });
  await rate('get/s (sequential, random keys)', GETS, rates, async () => {
    for (let i = 0; i < GETS; i++) await db.get(key((i * 7919) % KEYS));
  });
  await rate('iterated entries/s (one range scan)', KEYS, rates, async () => {
    let seen = 0;
    for await (const _entry of db.iterator({ gte: key(0), lte: key(KEYS) })) seen++;
    if (seen !== KEYS) throw new Error(`iterated ${seen} of ${KEYS}`);
  });
  await db.close();
  return rates;
}

const dir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-pg-'));
const client = new PgClient({ url, tablePrefix: `bench_${Date.now().toString(36)}_` });
const pg = new PostgresLevel<string, string>(client, 'bench');
try {
  const classic = await workload(new ClassicLevel<string, string>(path.join(dir, 'classic')));
  const postgres = await workload(pg);
  console.log(`keys ${KEYS}, sequential puts ${PUTS}, gets ${GETS}; PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')}`);
  console.log(['operation', 'classic-level', 'PostgresLevel', 'PG / classic'].join(' | '));
  for (const [label, classicRate] of Object.entries(classic)) {
    const pgRate = postgres[label] ?? 0;
    console.log([label, classicRate.toFixed(0), pgRate.toFixed(0), (pgRate / classicRate).toFixed(3)].join(' | '));
  }
} finally {
  await client.dropTable(pg.table);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
}
