// Many databases under a file limit (issue 10, item 10): a real server in a child process under
// `ulimit -n LIMIT` (a child shell lowers it, then execs node); N databases are written over HTTP,
// then each is read back. Samples the server's open descriptors (/proc/PID/fd) and RSS
// (/proc/PID/status) every 50 ms and prints the peaks.
//
//   node --import tsx bench/databases.ts [--databases 2000] [--limit 1024] [--root DIR]
//
// `--root` runs another checkout's src/main.ts (to compare with main).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    databases: { type: 'string', default: '2000' },
    limit: { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '16' },
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
  },
});
const DATABASES = Number(values.databases);
const LIMIT = Number(values.limit);
const CONCURRENCY = Number(values.concurrency);
const FACTS_PER_DATABASE = 20;

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((r) => probe.close(r));
  return port;
}

async function sample(pid: number): Promise<{ fds: number; rssMb: number }> {
  const [fds, status] = await Promise.all([readdir(`/proc/${pid}/fd`).then((f) => f.length, () => 0), readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')]);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { fds, rssMb: rssKb / 1024 };
}

async function post(url: string, path: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-bench-dbs-'));
  const port = await freePort();
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${LIMIT} && exec "$0" --import tsx src/main.ts`, process.execPath], {
    cwd: values.root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'warn', VESPER_ADMIN_KEY: '', VESPER_RATE_LIMIT: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
    if (i > 400) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid ?? 0;
  const peak = { fds: 0, rssMb: 0 };
  const sampler = setInterval(() => {
    void sample(pid).then((s) => {
      peak.fds = Math.max(peak.fds, s.fds);
      peak.rssMb = Math.max(peak.rssMb, s.rssMb);
    });
  }, 50);
  const errors = new Map<string, number>();
  const failed = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);
  let firstFailure: number | null = null;
  const phase = async (name: string, task: (i: number) => Promise<boolean>) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < DATABASES) {
        const i = next++;
        if (!(await task(i).catch(() => false))) {
          failed(name);
          firstFailure ??= i;
        }
      }
    }));
    return (performance.now() - started) / 1000;
  };
  const headers = (i: number) => ({ 'X-Database': `bench-${i}`, 'X-Tenant-ID': 'acme' });
  const writeSeconds = await phase('write', async (i) => {
    const facts = Array.from({ length: FACTS_PER_DATABASE }, (_, k) => ({ predicate: 'reading', args: [i, k] }));
    const reply = await post(url, '/tell', headers(i), { facts });
    if (reply.status !== 200) failed(`write ${reply.status} ${reply.json?.code}`);
    return reply.status === 200;
  });
  const readSeconds = await phase('read', async (i) => {
    const reply = await post(url, '/ask', headers(i), { predicate: 'reading', args: [i, '?k'], limit: 100 });
    if (reply.status !== 200) failed(`read ${reply.status} ${reply.json?.code}`);
    return reply.status === 200 && reply.json.results.length === FACTS_PER_DATABASE;
  });
  const listed = await fetch(`${url}/databases`).then(async (r) => (r.ok ? ((await r.json()) as { databases: unknown[] }).databases.length : `HTTP ${r.status}`), (e) => String(e));
  const metrics = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  clearInterval(sampler);
  const final = await sample(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
  const result = {
    root: values.root,
    databases: DATABASES,
    ulimit: LIMIT,
    concurrency: CONCURRENCY,
    writeSeconds: Number(writeSeconds.toFixed(2)),
    readSeconds: Number(readSeconds.toFixed(2)),
    writesPerSecond: Math.round(DATABASES / writeSeconds),
    readsPerSecond: Math.round(DATABASES / readSeconds),
    errors: Object.fromEntries(errors),
    firstFailure,
    listedDatabases: listed,
    openDatabases: /^vesper_open_databases (\d+)$/m.exec(metrics)?.[1] ?? null,
    openDatabasesLimit: /^vesper_open_databases_limit (\d+)$/m.exec(metrics)?.[1] ?? null,
    peakFds: peak.fds,
    peakRssMb: Math.round(peak.rssMb),
    finalFds: final.fds,
    finalRssMb: Math.round(final.rssMb),
  };
  console.log(JSON.stringify(result, null, 2));
}

await main();
