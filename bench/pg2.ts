/**
 * `npm run bench:pg2` (after `npm run pg:up`; VESPER_TEST_PG_URL overrides the local URL): two
 * Vesper processes against one PostgreSQL vs one process, over real HTTP, in the same run. 100
 * tenants are seeded once; then each mix runs for BENCH_PG2_SECONDS with BENCH_PG2_CLIENTS requests
 * in flight, against one server process and against two (the clients alternate between them),
 * twice each in the order 1, 2, 1, 2 so that a drift of the machine's load hits both alike.
 *   read-heavy: 90% point asks (one bound argument), 10% one-fact tells, random tenants;
 *   write: one-fact tells only, random tenants (each tell takes its tenant's advisory lock).
 * Prints requests/s per configuration and the ratio two / one. No assertion: timings are never a
 * test. The load generator runs in this process, on the same 2 cores as the servers and PostgreSQL.
 *
 * Then the change stream across processes: a `GET /events` stream open on the first process, and
 * BENCH_PG2_STREAM_WRITES one-fact tells one after the other through the second process, then as
 * many through the first: the time from sending each tell to its event arriving on the stream,
 * p50 and p95 (the server's default VESPER_PG_EVENT_POLL_MS, 250 ms, bounds the first). A random
 * pause of 0–300 ms before each tell spreads the tells over the poll interval.
 *
 * Env: BENCH_PG2_TENANTS (100), BENCH_PG2_FACTS (200 per tenant), BENCH_PG2_SECONDS (8), BENCH_PG2_CLIENTS (16),
 * BENCH_PG2_STREAM_WRITES (40).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgClient } from '../src/store/backends/pg-client.js';
import { startChild } from './lib/child-server.js';
import { env, mulberry32 } from './lib/random.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const url = process.env.VESPER_TEST_PG_URL || 'postgres://vesper@127.0.0.1:54321,127.0.0.1:54322/vesper';
const TENANTS = env('BENCH_PG2_TENANTS', 100);
const FACTS = env('BENCH_PG2_FACTS', 200);
const SECONDS = env('BENCH_PG2_SECONDS', 8);
const CLIENTS = env('BENCH_PG2_CLIENTS', 16);
const STREAM_WRITES = env('BENCH_PG2_STREAM_WRITES', 40);
const prefix = `bp2${Date.now().toString(36)}_`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-pg2-'));

type Mix = 'read-heavy' | 'write';

async function startServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const { child, port } = await startChild(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src/main.ts')],
    { PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info', VESPER_RATE_LIMIT: '0', VESPER_BACKEND: 'postgres', VESPER_PG_URL: url, VESPER_PG_TABLE_PREFIX: prefix },
    root,
  );
  child.stdout?.resume();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function post(base: string, route: string, tenant: string, body: unknown): Promise<void> {
  const reply = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify(body) });
  const text = await reply.text();
  if (reply.status !== 200) throw new Error(`${route} ${tenant}: ${reply.status} ${text.slice(0, 200)}`);
}

const tenantName = (i: number) => `t${i}`;

async function seed(base: string): Promise<void> {
  for (let t = 0; t < TENANTS; t++) {
    const facts = Array.from({ length: FACTS }, (_, i) => ({ predicate: 'item', args: [`s${i}`, i] }));
    await post(base, '/tell', tenantName(t), { facts });
  }
}

/** Requests/s of one mix against these servers: CLIENTS loops, each sending to the servers in turn. */
async function run(bases: readonly string[], mix: Mix, seed: number): Promise<number> {
  const random = mulberry32(seed);
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let written = 0;
  const client = async (c: number) => {
    for (let i = c; performance.now() < deadline; i++) {
      const base = bases[i % bases.length] as string;
      const tenant = tenantName(Math.floor(random() * TENANTS));
      if (mix === 'write' || random() < 0.1) await post(base, '/tell', tenant, { predicate: 'event', args: [`w${seed}_${c}_${written++}`] });
      else await post(base, '/ask', tenant, { predicate: 'item', args: [`s${Math.floor(random() * FACTS)}`, '?v'] });
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  return done / ((performance.now() - start) / 1000);
}

async function measure(processes: 1 | 2, mix: Mix, seed: number): Promise<number> {
  const servers = [await startServer()];
  if (processes === 2) servers.push(await startServer());
  try {
    const bases = servers.map((s) => s.base);
    await run(bases, mix, seed + 1000); // warm-up: connections, handles, caches (not counted)
    return await run(bases, mix, seed);
  } finally {
    for (const server of servers) await server.stop();
  }
}

/** Milliseconds from sending a tell (through `writer`) to its event on a stream open on `reader`, per tell. */
async function streamDelays(reader: string, writer: string, tenant: string): Promise<number[]> {
  const abort = new AbortController();
  const response = await fetch(`${reader}/events`, { headers: { accept: 'text/event-stream', 'x-tenant-id': tenant }, signal: abort.signal });
  if (!response.body) throw new Error('no stream body');
  let buffered = '';
  const notify: { waiting: (() => void) | null } = { waiting: null };
  const ids: number[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          const id = /^id: (\d+)$/m.exec(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
          if (id) {
            ids.push(Number(id[1]));
            notify.waiting?.();
          }
        }
      }
    } catch {
      // aborted below
    }
  })();
  const delays: number[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the stream has read the log's head
    const random = mulberry32(7);
    for (let i = 0; i < STREAM_WRITES; i++) {
      // A random pause first: tells sent right after a delivery would all land just after a poll (the worst case).
      await new Promise((resolve) => setTimeout(resolve, random() * 300));
      const seen = ids.length;
      const arrived = new Promise<void>((resolve) => {
        notify.waiting = () => {
          if (ids.length > seen) resolve();
        };
      });
      const start = performance.now();
      await post(writer, '/tell', tenant, { predicate: 'streamed', args: [i] });
      await arrived;
      delays.push(performance.now() - start);
    }
  } finally {
    abort.abort();
    await reading;
  }
  return delays;
}

const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

async function measureStream(): Promise<void> {
  const servers = [await startServer(), await startServer()];
  try {
    const [a, b] = servers.map((s) => s.base) as [string, string];
    await post(a, '/tell', 'streamed', { predicate: 'streamed', args: ['first'] });
    const other = await streamDelays(a, b, 'streamed');
    const same = await streamDelays(a, a, 'streamed');
    const line = (what: string, xs: number[]) => `${what} | ${percentile(xs, 50).toFixed(1)} | ${percentile(xs, 95).toFixed(1)}`;
    console.log(`stream on process 1, ${STREAM_WRITES} tells one after the other: ms from sending the tell to its event`);
    console.log('tells through | p50 ms | p95 ms');
    console.log(line('process 2 (another process)', other));
    console.log(line('process 1 (the same process)', same));
  } finally {
    for (const server of servers) await server.stop();
  }
}

try {
  const seeder = await startServer();
  try {
    await seed(seeder.base);
  } finally {
    await seeder.stop();
  }
  console.log(`${TENANTS} tenants × ${FACTS} facts, ${CLIENTS} requests in flight, ${SECONDS} s per run; PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('mix | one process req/s | two processes req/s | two / one');
  for (const mix of ['read-heavy', 'write'] as const) {
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < 2; round++) {
      one.push(await measure(1, mix, round * 2 + 1));
      two.push(await measure(2, mix, round * 2 + 2));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${mix} | ${mean(one).toFixed(0)} (${one.map((x) => x.toFixed(0)).join(', ')}) | ${mean(two).toFixed(0)} (${two.map((x) => x.toFixed(0)).join(', ')}) | ${(mean(two) / mean(one)).toFixed(2)}`);
  }
  await measureStream();
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  const cleanup = new PgClient({ url, tablePrefix: prefix });
  for (const row of await cleanup.sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND starts_with(table_name, ${prefix})`) {
    await cleanup.dropTable(row.table_name);
  }
  await cleanup.end();
  rmSync(dataDir, { recursive: true, force: true });
}
