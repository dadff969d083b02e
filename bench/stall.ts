/**
 * Stall bench (`node --import tsx --expose-gc bench/stall.ts`; issue 12, "no tenant stalls the
 * others"): another tenant's point-ask latency alone and while one tenant runs a full transitive
 * closure over a 20k-edge graph, on a real server over HTTP (default evaluation budget, so the
 * closure ends with 422 QUERY_BUDGET_EXCEEDED once it has produced 2M tuples, or completes).
 * Target: point-ask p99 ≤ 50 ms during the closure. Then `limit: 10` on the same closure against
 * its full evaluation, each alone (issue 12: `limit` stops evaluation early). Env: BENCH_STALL_EDGES (20000),
 * BENCH_STALL_NODES (10000), BENCH_STALL_ALONE (300).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { env, mulberry32 } from './lib/random.js';


const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

async function post(url: string, tenant: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

const dir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-stall-bench-'));
const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dir, LOG_LEVEL: 'silent', VESPER_RATE_LIMIT: '0' }));
try {
  const edges = env('BENCH_STALL_EDGES', 20_000);
  const nodes = env('BENCH_STALL_NODES', 10_000);
  const random = mulberry32(42);
  const pairs = new Set<string>();
  while (pairs.size < edges) {
    const a = Math.floor(random() * nodes);
    const b = Math.floor(random() * nodes);
    if (a !== b) pairs.add(`${a} ${b}`);
  }
  const facts = [...pairs].map((pair) => ({ predicate: 'edge', args: pair.split(' ').map((n) => `n${n}`) }));
  for (let i = 0; i < facts.length; i += 5000) await post(server.url, 'heavy', '/tell', { facts: facts.slice(i, i + 5000) });
  await post(server.url, 'heavy', '/rules', { text: 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).' });
  await post(server.url, 'light', '/tell', { facts: Array.from({ length: 1000 }, (_, i) => ({ predicate: 'plan', args: [`c${i}`, i % 3 === 0 ? 'pro' : 'free'] })) });
  const pointAsk = async (): Promise<number> => {
    const started = performance.now();
    const reply = await post(server.url, 'light', '/ask', { predicate: 'plan', args: [`c${Math.floor(random() * 1000)}`, '?tier'] });
    if (reply.status !== 200 || reply.json.results.length !== 1) throw new Error(`point ask answered ${reply.status}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 50; i++) await pointAsk(); // warm-up
  const alone: number[] = [];
  for (let i = 0; i < env('BENCH_STALL_ALONE', 300); i++) alone.push(await pointAsk());

  const during: number[] = [];
  // How long the event loop was held at a time (the server runs in this process).
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let done = false;
  const started = performance.now();
  // A page larger than the closure's leading values (its sources): evaluated in full, `limit` cannot stop it early.
  const heavy = post(server.url, 'heavy', '/ask', { predicate: 'reach', args: ['?x', '?y'], scope: 'main', limit: 10_000 }).finally(() => (done = true));
  while (!done) {
    const ms = await pointAsk();
    if (!done) during.push(ms);
  }
  const closure = await heavy;
  const closureMs = performance.now() - started;
  loop.disable();
  // Issue 12, "`limit` stops evaluation early": the first 10 answers of the same closure against
  // the full evaluation, each alone (median of 5 and one full run, which ends at the budget).
  const closureAsk = async (limit: number) => {
    const from = performance.now();
    const reply = await post(server.url, 'heavy', '/ask', { predicate: 'reach', args: ['?x', '?y'], scope: 'main', limit });
    return { ms: performance.now() - from, reply };
  };
  const limited: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { ms, reply } = await closureAsk(10);
    if (reply.status !== 200 || reply.json.results.length !== 10) throw new Error(`limit 10 answered ${reply.status}`);
    limited.push(ms);
  }
  const full = await closureAsk(10_000);
  const fullOutcome = full.reply.status === 200 ? 'completed' : `${full.reply.status} ${full.reply.json.code} (${JSON.stringify(full.reply.json.details)})`;
  const loopMs = (ns: number) => (ns / 1e6).toFixed(1);
  const outcome = closure.status === 200 ? 'completed' : `${closure.status} ${closure.json.code} (${JSON.stringify(closure.json.details)})`;
  const row = (label: string, xs: number[]) => `| ${label} | ${xs.length} | ${percentile(xs, 50).toFixed(2)} | ${percentile(xs, 99).toFixed(2)} | ${Math.max(...xs).toFixed(1)} |`;
  console.log(
    [
      `Stall: another tenant's point asks (\`plan(cN, ?tier)\`, 1,000 facts) alone and during one tenant's full closure over ${edges} edges / ${nodes} nodes`,
      `(the closure took ${closureMs.toFixed(0)} ms and ended: ${outcome}).`,
      '',
      '| point asks | n | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|---|',
      row('alone', alone),
      row('during the closure', during),
      '',
      `Event-loop delay during the closure (monitorEventLoopDelay, 1 ms resolution): p50 ${loopMs(loop.percentile(50))} ms, p99 ${loopMs(loop.percentile(99))} ms, max ${loopMs(loop.max)} ms.`,
      '',
      `Target p99 ≤ 50 ms during: ${percentile(during, 99) <= 50 ? 'met' : 'missed'}.`,
      '',
      `\`limit\` on the same closure, alone: limit 10 answered 200 in ${percentile(limited, 50).toFixed(1)} ms (median of 5); the full evaluation ran ${full.ms.toFixed(0)} ms and ended: ${fullOutcome} — ${(full.ms / percentile(limited, 50)).toFixed(0)}× longer.`,
    ].join('\n'),
  );
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
