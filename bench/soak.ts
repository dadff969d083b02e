/**
 * `npm run bench:soak` (issue 12): a soak at twice the rate limit. The real server (built JS, its own
 * process) runs with VESPER_RATE_LIMIT=R requests per second per tenant; autocannon sends point asks
 * and tells across T tenants at 2 × R × T requests per second overall for D seconds. Reported: the
 * replies by status (only 200 and 429 are right: nothing else, no errors), the 200s against what the
 * limit allows, and the server's RSS after a warm-up vs at the end (target growth < 10%).
 *
 * Env: BENCH_SOAK_S (60), BENCH_SOAK_RATE (100 per tenant per second), BENCH_SOAK_TENANTS (10),
 *      BENCH_SOAK_WARMUP_S (10), BENCH_HTTP_NO_BUILD=1 to reuse dist/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { rssMb, startChild } from './lib/child-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SOAK_S || 60);
const rate = Number(process.env.BENCH_SOAK_RATE || 100);
const tenants = Number(process.env.BENCH_SOAK_TENANTS || 10);
const warmupS = Number(process.env.BENCH_SOAK_WARMUP_S || 10);

const pick = (n: number) => Math.floor(Math.random() * n);
let written = 0;
const request = () => {
  const tenant = `soak_t${pick(tenants)}`;
  const body =
    Math.random() < 0.8
      ? { path: '/ask', body: { predicate: 'seen', args: [`w${pick(Math.max(1, written))}`, '?n'] } }
      : { path: '/tell', body: { predicate: 'seen', args: [`w${written++}`, pick(1000)] } };
  return { method: 'POST' as const, path: body.path, headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify(body.body) };
};

if (process.env.BENCH_HTTP_NO_BUILD !== '1') execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const dataDir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-soak-'));
const server = await startChild(process.execPath, [path.join(root, 'dist/main.js')], { PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info', VESPER_RATE_LIMIT: String(rate) }, root);
server.child.stdout?.resume();
try {
  const rss: { at: number; mb: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(() => rss.push({ at: (Date.now() - started) / 1000, mb: rssMb(server.child.pid) }), 1000);
  const statuses = new Map<number, number>();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${server.port}`,
        connections: 20,
        duration: seconds,
        overallRate: 2 * rate * tenants,
        requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, ...request() }) }],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode) => statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1));
  });
  clearInterval(sampler);
  const atWarmup = rss.find((s) => s.at >= warmupS)?.mb ?? Number.NaN;
  const atEnd = rss.at(-1)?.mb ?? Number.NaN;
  const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
  const allowed = rate * tenants * seconds;
  const others = [...statuses].filter(([s]) => s !== 200 && s !== 429);
  console.log(
    [
      `Soak: ${seconds} s at ${2 * rate * tenants} req/s (2× a limit of ${rate}/s per tenant × ${tenants} tenants; 80% point ask, 20% tell); ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join('/')}, node ${process.version}`,
      '',
      '| replies | 200 | 429 | other statuses | socket errors | 200s vs limit × time | RSS after warm-up | RSS at end | growth |',
      '|---|---|---|---|---|---|---|---|---|',
      `| ${sent} | ${statuses.get(200) ?? 0} | ${statuses.get(429) ?? 0} | ${others.length ? JSON.stringify(others) : 0} | ${result.errors} | ${((statuses.get(200) ?? 0) / allowed).toFixed(2)}× | ${atWarmup.toFixed(0)} MB | ${atEnd.toFixed(0)} MB | ${(((atEnd - atWarmup) / atWarmup) * 100).toFixed(1)}% |`,
      '',
      `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms over all replies. Targets: only 200/429 (${others.length === 0 && result.errors === 0 ? 'met' : 'missed'}), RSS growth < 10% (${(atEnd - atWarmup) / atWarmup < 0.1 ? 'met' : 'missed'}).`,
    ].join('\n'),
  );
} finally {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
