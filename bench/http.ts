/**
 * `npm run bench:http`: the serving path, measured over real HTTP with autocannon against the real
 * server (built JS, default configuration, its own process) and, in the same run, a bare koa route
 * (bench/http-bare.ts) as the yardstick. The client shares the machine's cores with the server, as
 * in the measurement that opened the serving-path issue; figures are only comparable within a run.
 *
 * Scenarios (each a fresh autocannon run, reps interleaved): bare koa, point /ask, single /tell,
 * /tell batch of 100, conjunctive ask, context diff, mixed 80% ask / 15% tell / 5% context diff,
 * MCP tools/call ask over Streamable HTTP. Data: BENCH_HTTP_TENANTS tenants × BENCH_HTTP_FACTS facts.
 *
 * Env: BENCH_HTTP_DURATION_S (8), BENCH_HTTP_CONNECTIONS (20), BENCH_HTTP_REPS (3),
 *      BENCH_HTTP_TENANTS (100), BENCH_HTTP_FACTS (100), BENCH_HTTP_SCENARIOS (comma list, default all),
 *      BENCH_HTTP_NO_BUILD=1 to reuse dist/, BENCH_HTTP_CPU_PROF=<dir> to run the server under
 *      `node --cpu-prof` (the profile is written there when it exits; read it with bench/cpuprofile-top.ts).
 * Writes bench/out/http-<timestamp>.json and prints a markdown table (medians over reps).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startChild } from './lib/child-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const durationS = Number(process.env.BENCH_HTTP_DURATION_S || 8);
const connections = Number(process.env.BENCH_HTTP_CONNECTIONS || 20);
const reps = Number(process.env.BENCH_HTTP_REPS || 3);
const tenants = Number(process.env.BENCH_HTTP_TENANTS || 100);
const factsPerTenant = Number(process.env.BENCH_HTTP_FACTS || 100);

type Request = { method: 'POST'; path: string; headers: Record<string, string>; body?: string };
interface Scenario {
  readonly name: string;
  readonly target: 'bare' | 'vesper';
  /** Builds one request; called by autocannon for every request it sends. */
  readonly next: () => Request;
}

const pick = (n: number) => Math.floor(Math.random() * n);
const tenantName = (t: number) => `bench_t${t}`;
const json = (tenant: number, p: string, body: unknown): Request => ({
  method: 'POST',
  path: p,
  headers: { 'content-type': 'application/json', 'x-tenant-id': tenantName(tenant) },
  body: JSON.stringify(body),
});
/** knows(u_i, u_j): a ring with chords, so point asks and two-step joins have answers. */
const factOf = (i: number) => ({ predicate: 'knows', args: [`u${i}`, `u${(i * 7 + 1) % factsPerTenant}`] });
let written = 0;

const pointAsk = () => json(pick(tenants), '/ask', { predicate: 'knows', args: [`u${pick(factsPerTenant)}`, '?y'] });
const singleTell = () => json(pick(tenants), '/tell', { predicate: 'seen', args: [`w${written++}`, pick(1000)] });
const contextDiff = () => {
  const t = pick(tenants);
  return json(t, '/context/diff', { sessionId: `bench-${t}`, maxFacts: 10, predicates: ['knows'] });
};

function scenarios(mcpSessions: readonly { id: string; tenant: number }[]): Scenario[] {
  return [
    { name: 'bare koa JSON route', target: 'bare', next: () => json(0, '/ask', { predicate: 'knows', args: ['u1', '?y'] }) },
    { name: 'point /ask', target: 'vesper', next: pointAsk },
    { name: '/tell single', target: 'vesper', next: singleTell },
    {
      name: '/tell batch of 100',
      target: 'vesper',
      next: () => json(pick(tenants), '/tell', { facts: Array.from({ length: 100 }, () => ({ predicate: 'seen', args: [`w${written++}`, 1] })) }),
    },
    {
      name: 'conjunctive /ask',
      target: 'vesper',
      next: () => json(pick(tenants), '/ask', { query: [{ predicate: 'knows', args: [`u${pick(factsPerTenant)}`, '?y'] }, { predicate: 'knows', args: ['?y', '?z'] }] }),
    },
    { name: '/context/diff', target: 'vesper', next: contextDiff },
    {
      name: 'mixed 80/15/5',
      target: 'vesper',
      next: () => {
        const r = Math.random();
        return r < 0.8 ? pointAsk() : r < 0.95 ? singleTell() : contextDiff();
      },
    },
    {
      name: 'MCP tools/call ask',
      target: 'vesper',
      next: () => {
        const session = mcpSessions[pick(mcpSessions.length)] as { id: string; tenant: number };
        return {
          method: 'POST',
          path: '/mcp',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'x-tenant-id': tenantName(session.tenant),
            'mcp-session-id': session.id,
            'mcp-protocol-version': '2025-06-18',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: written++,
            method: 'tools/call',
            params: { name: 'ask', arguments: { predicate: 'knows', args: [`u${pick(factsPerTenant)}`, '?y'] } },
          }),
        };
      },
    },
  ];
}

async function post(port: number, request: Request): Promise<Response> {
  const reply = await fetch(`http://127.0.0.1:${port}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  if (!reply.ok) throw new Error(`${request.path}: ${reply.status} ${await reply.text()}`);
  return reply;
}

async function seed(port: number): Promise<void> {
  for (let t = 0; t < tenants; t++) {
    await post(port, json(t, '/tell', { facts: Array.from({ length: factsPerTenant }, (_, i) => factOf(i)) }));
  }
}

async function openMcpSessions(port: number, count: number): Promise<{ id: string; tenant: number }[]> {
  const sessions: { id: string; tenant: number }[] = [];
  for (let s = 0; s < count; s++) {
    const tenant = s % tenants;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-tenant-id': tenantName(tenant) };
    const init = await post(port, {
      method: 'POST',
      path: '/mcp',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
    });
    const id = init.headers.get('mcp-session-id');
    await init.text();
    if (!id) throw new Error('initialize gave no Mcp-Session-Id');
    const withSession = { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
    await (await post(port, { method: 'POST', path: '/mcp', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    sessions.push({ id, tenant });
  }
  return sessions;
}

interface Figures {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  /** CPU time (user + system) the server process spent per request, in µs: less sensitive to other load on the machine than req/s. */
  readonly cpuUsPerReq: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function run(port: number, scenario: Scenario, pid: number | undefined): Promise<Figures> {
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationS,
    // Spread autocannon's own request first: it carries the host and port that become the Host header.
    requests: [{ setupRequest: (request) => ({ ...request, ...scenario.next() }) }],
  });
  if (result.non2xx > 0) process.stderr.write(`${scenario.name}: status codes ${JSON.stringify(result.statusCodeStats)}\n`);
  const cpuUsPerReq = ((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(result.requests.total, 1);
  return { reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts, cpuUsPerReq };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  if (process.env.BENCH_HTTP_NO_BUILD !== '1') execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-http-'));
  const bare = await startChild(process.execPath, ['--import', 'tsx', path.join(here, 'http-bare.ts')], {}, root);
  const profDir = process.env.BENCH_HTTP_CPU_PROF;
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`] : [];
  const vesper = await startChild(process.execPath, [...profArgs, path.join(root, 'dist/main.js')], { PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info' }, root);
  vesper.child.stdout?.resume(); // keep draining its log lines
  try {
    await seed(vesper.port);
    const sessions = await openMcpSessions(vesper.port, Math.min(connections, tenants));
    const only = process.env.BENCH_HTTP_SCENARIOS?.split(',').map((s) => s.trim());
    const list = scenarios(sessions).filter((s) => !only || only.includes(s.name));
    const figures = new Map<string, Figures[]>();
    for (let rep = 0; rep < reps; rep++) {
      for (const scenario of list) {
        const fromUs = process.hrtime.bigint() / 1000n;
        const target = scenario.target === 'bare' ? bare : vesper;
        const figure = await run(target.port, scenario, target.child.pid);
        // The scenario's window in the profile's clock (monotonic µs): bench/cpuprofile-top.ts <file> <top> <from> <to>.
        if (profDir) process.stderr.write(`profile window ${JSON.stringify(scenario.name)}: ${fromUs} ${process.hrtime.bigint() / 1000n}\n`);
        figures.set(scenario.name, [...(figures.get(scenario.name) ?? []), figure]);
        process.stderr.write(`rep ${rep + 1} ${scenario.name}: ${figure.reqPerSec.toFixed(0)} req/s p50 ${figure.p50} ms p99 ${figure.p99} ms server CPU ${figure.cpuUsPerReq.toFixed(0)} µs/req non2xx ${figure.non2xx}\n`);
      }
    }
    const summary = [...figures].map(([name, runs]) => ({
      name,
      reqPerSec: median(runs.map((r) => r.reqPerSec)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)),
      non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      runs,
    }));
    const bareRate = summary.find((s) => s.name === 'bare koa JSON route')?.reqPerSec ?? Number.NaN;
    const askRate = summary.find((s) => s.name === 'point /ask')?.reqPerSec ?? Number.NaN;
    const bareCpu = summary.find((s) => s.name === 'bare koa JSON route')?.cpuUsPerReq ?? Number.NaN;
    const askCpu = summary.find((s) => s.name === 'point /ask')?.cpuUsPerReq ?? Number.NaN;
    const rows = summary.map((s) => {
      const isMcp = s.name === 'MCP tools/call ask';
      const vsAsk = isMcp ? ` (${(s.reqPerSec / askRate).toFixed(2)}× REST /ask)` : '';
      const cpuVsAsk = isMcp ? ` (${(askCpu / s.cpuUsPerReq).toFixed(2)}× REST /ask)` : '';
      return `| ${s.name} | ${s.reqPerSec.toFixed(0)} | ${s.p50} | ${s.p99} | ${(s.reqPerSec / bareRate).toFixed(2)}×${vsAsk} | ${s.cpuUsPerReq.toFixed(0)} | ${(bareCpu / s.cpuUsPerReq).toFixed(2)}×${cpuVsAsk} | ${s.non2xx} | ${s.errors} |`;
    });
    const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join('/')}, node ${process.version}`;
    const table = [
      `${reps} reps × ${durationS} s, ${connections} connections, ${tenants} tenants × ${factsPerTenant} facts; ${machine}`,
      '',
      '| scenario | req/s (median) | p50 ms | p99 ms | ratio to bare koa | server CPU µs/req | CPU ratio (bare koa µs / µs) | non-2xx | errors |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    process.stdout.write(`${table}\n`);
    mkdirSync(path.join(here, 'out'), { recursive: true });
    writeFileSync(path.join(here, 'out', `http-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ machine, durationS, connections, tenants, factsPerTenant, summary }, null, 2));
  } finally {
    bare.child.kill('SIGTERM');
    vesper.child.kill('SIGTERM');
    await new Promise((resolve) => vesper.child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
