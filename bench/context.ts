/**
 * Context-for-agents bench (`node --import tsx --expose-gc bench/context.ts`), also callable
 * from bench/run.ts through `runContextBench()`. Over real HTTP against an in-process server:
 *
 * 1. Bytes: a scripted 20-turn support conversation (each turn tells 2–5 facts, retracts 0–1, then
 *    asks for the context with maxFacts 25). The same script runs on two tenants: one calls
 *    /context/diff each turn, the other re-sends /context/optimize; the bench sums the reply bytes.
 *    Target: diff ≤ 20% of the bytes of full windows.
 * 2. Latency: /context/diff on a tenant with 100k facts (BENCH_CONTEXT_FACTS), p50 and p95, when
 *    nothing was written since the session's last window, right after a one-fact tell, and after a
 *    conversation turn (tell 2–5 facts, retract 0–1 told in an earlier turn), with the bytes of those
 *    replies. Target: p50 ≤ 5 ms.
 *
 * Env: BENCH_CONTEXT_FACTS (default 100000), BENCH_CONTEXT_SAMPLES (default 50), BENCH_TMP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

type Body = Record<string, unknown>;

interface Client {
  /** POST and return the parsed reply, its size in bytes and the round trip in ms; throws unless 200/201. */
  post(route: string, body: Body): Promise<{ json: any; bytes: number; ms: number }>;
}

function client(url: string, tenant: string): Client {
  return {
    async post(route, body) {
      const started = performance.now();
      const response = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify(body) });
      const text = await response.text();
      const ms = performance.now() - started;
      if (response.status !== 200 && response.status !== 201) throw new Error(`${route} → ${response.status}: ${text.slice(0, 300)}`);
      return { json: JSON.parse(text), bytes: Buffer.byteLength(text), ms };
    },
  };
}

// ---------------------------------------------------------------- the conversation

interface Turn {
  readonly tell: Body[];
  readonly retract: Body | null;
}

const fact = (predicate: string, ...args: (string | number)[]): Body => ({ predicate, args });

/** What the agent knows before the conversation: the customer, its account, the product and policies. */
function background(): Body[] {
  const facts: Body[] = [fact('customer', 'acme'), fact('plan', 'acme', 'enterprise'), fact('seats', 'acme', 140), fact('region', 'acme', 'eu')];
  for (const [i, feature] of ['sso', 'audit_log', 'api', 'exports', 'webhooks', 'sandbox'].entries()) facts.push(fact('feature', 'enterprise', feature), fact('feature_since', feature, 2020 + i));
  for (let i = 1; i <= 12; i++) facts.push(fact('policy', `p${i}`, `policy text number ${i} about refunds, credits and escalation`));
  for (let i = 1; i <= 8; i++) facts.push(fact('past_ticket', 'acme', `old${i}`, i % 2 === 0 ? 'resolved' : 'closed'));
  return facts;
}

/** 20 scripted turns of a support thread: messages, findings, status changes (retractions), notes. */
export function conversation(): Turn[] {
  const turns: Turn[] = [];
  for (let n = 1; n <= 20; n++) {
    const tell = [fact('message', 't1', n, n % 2 === 1 ? 'customer' : 'agent', `message ${n} of the thread about sso login failures`)];
    if (n % 2 === 1) tell.push(fact('symptom', 't1', `symptom_${n}`));
    if (n % 3 === 0) tell.push(fact('finding', 't1', `finding_${n}`, 'confirmed'));
    if (n % 4 === 0) tell.push(fact('status', 't1', `step_${n}`), fact('note', 't1', `note_${n}`));
    if (n % 5 === 0) tell.push(fact('sentiment', 't1', n, n < 12 ? 'frustrated' : 'calmer'));
    if (tell.length < 2) tell.push(fact('touch', 't1', n));
    const retract = n % 4 === 0 && n > 4 ? fact('status', 't1', `step_${n - 4}`) : n % 6 === 0 ? fact('symptom', 't1', `symptom_${n - 5}`) : null;
    turns.push({ tell, retract });
  }
  return turns;
}

const WINDOW: Body = {
  maxFacts: 25,
  goals: [{ predicate: 'entitled', args: ['acme', '?f'] }],
  predicates: ['message', 'finding', 'status'],
};
const RULES = 'entitled(?c, ?f) :- customer(?c), plan(?c, ?p), feature(?p, ?f).';

interface BytesResult {
  readonly turns: number;
  readonly diffBytes: number;
  readonly fullBytes: number;
  readonly ratio: number;
  readonly fullRefreshes: number;
}

async function playConversation(c: Client, perTurn: (turn: number) => Promise<{ bytes: number; refresh?: boolean }>): Promise<{ bytes: number; refreshes: number }> {
  await c.post('/rules', { text: RULES });
  await c.post('/tell', { facts: background() });
  let bytes = 0;
  let refreshes = 0;
  for (const [i, turn] of conversation().entries()) {
    await c.post('/tell', { facts: turn.tell });
    if (turn.retract) await c.post('/retract', turn.retract);
    const reply = await perTurn(i);
    bytes += reply.bytes;
    if (reply.refresh) refreshes++;
  }
  return { bytes, refreshes };
}

async function measureBytes(url: string): Promise<BytesResult> {
  const diffing = client(url, 'bench_ctx_diff');
  const full = client(url, 'bench_ctx_full');
  const withDiff = await playConversation(diffing, async () => {
    const reply = await diffing.post('/context/diff', { ...WINDOW, sessionId: 'support-thread-1' });
    return { bytes: reply.bytes, refresh: reply.json.fullRefreshRecommended === true };
  });
  const withFull = await playConversation(full, async () => ({ bytes: (await full.post('/context/optimize', WINDOW)).bytes }));
  return { turns: 20, diffBytes: withDiff.bytes, fullBytes: withFull.bytes, ratio: withDiff.bytes / withFull.bytes, fullRefreshes: withDiff.refreshes };
}

// ---------------------------------------------------------------- latency at 100k facts

interface Latency {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly samples: number;
  /** Mean bytes of the diff replies. */
  readonly bytes: number;
}

interface LatencyResult {
  readonly facts: number;
  readonly loadSeconds: number;
  readonly firstDiffMs: number;
  readonly unchanged: Latency;
  readonly afterTell: Latency;
  readonly afterTurn: Latency;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function loadTenant(c: Client, count: number): Promise<number> {
  const started = performance.now();
  const batch = 10_000;
  for (let from = 0; from < count; from += batch) {
    const facts: Body[] = [];
    for (let i = from; i < Math.min(count, from + batch); i++) {
      facts.push({ predicate: `attr${i % 20}`, args: [`entity${i % 5000}`, i], confidence: ((i * 7919) % 100) / 100 });
    }
    await c.post('/tell', { facts });
  }
  return (performance.now() - started) / 1000;
}

const BIG_WINDOW: Body = { maxFacts: 25, sessionId: 'big-session' };

async function sampleDiffs(c: Client, samples: number, before: (i: number) => Promise<void>, body: Body = BIG_WINDOW): Promise<Latency> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < samples; i++) {
    await before(i);
    const reply = await c.post('/context/diff', body);
    times.push(reply.ms);
    bytes += reply.bytes;
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), samples, bytes: Math.round(bytes / samples) };
}

/** Turn n of a long conversation on the big tenant: 2–5 new facts, and every other turn a retract of a fact of turn n − 2. */
async function playTurn(c: Client, n: number): Promise<void> {
  const facts = [fact('message', 'big', n, n % 2 === 0 ? 'customer' : 'agent', `turn ${n}`), fact('status', 'big', `step_${n}`)];
  for (let k = 0; k < n % 4; k++) facts.push(fact('note', 'big', n, k));
  await c.post('/tell', { facts });
  if (n % 2 === 0 && n >= 2) await c.post('/retract', fact('status', 'big', `step_${n - 2}`));
}

async function measureLatency(url: string, count: number, samples: number): Promise<LatencyResult> {
  const c = client(url, 'bench_ctx_big');
  const loadSeconds = await loadTenant(c, count);
  (globalThis as { gc?: () => void }).gc?.();
  const firstDiffMs = (await c.post('/context/diff', { maxFacts: 25, sessionId: 'big-session' })).ms;
  const unchanged = await sampleDiffs(c, samples, async () => undefined);
  const afterTell = await sampleDiffs(c, samples, async (i) => {
    await c.post('/tell', { predicate: 'turn_fact', args: [i] });
  });
  // The turns' predicates in focus, so that each turn changes the window (a new session, warmed up by one diff).
  const turnWindow = { maxFacts: 25, predicates: ['message', 'status', 'note'], sessionId: 'big-turns' };
  await c.post('/context/diff', turnWindow);
  const afterTurn = await sampleDiffs(c, samples, (i) => playTurn(c, i), turnWindow);
  return { facts: count, loadSeconds, firstDiffMs, unchanged, afterTell, afterTurn };
}

// ---------------------------------------------------------------- report

export interface ContextBenchResult {
  readonly bytes: BytesResult;
  readonly latency: LatencyResult;
}

export async function runContextBench(options: { facts?: number; samples?: number; tmp?: string } = {}): Promise<ContextBenchResult> {
  const dataDir = await mkdtemp(path.join(options.tmp ?? tmpdir(), 'vesper-bench-context-'));
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent' }));
  try {
    const bytes = await measureBytes(server.url);
    const latency = await measureLatency(server.url, options.facts ?? 100_000, options.samples ?? 50);
    return { bytes, latency };
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

export function formatContextBench({ bytes, latency }: ContextBenchResult): string {
  const pass = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const row = (what: string, l: Latency) =>
    `| diff p50 / p95 / max, ${what} (${l.samples} samples; ${l.bytes} B per reply) | ${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.max)} | p50 ≤ 5 ms: ${pass(l.p50 <= 5)} |`;
  return [
    '| context bench | value | target |',
    '|---|---|---|',
    `| bytes, ${bytes.turns} turns of /context/diff | ${bytes.diffBytes} | |`,
    `| bytes, ${bytes.turns} turns of /context/optimize (full window) | ${bytes.fullBytes} | |`,
    `| diff / full | ${(bytes.ratio * 100).toFixed(1)}% (${bytes.fullRefreshes} full refreshes recommended) | ≤ 20%: ${pass(bytes.ratio <= 0.2)} |`,
    `| ${latency.facts} facts loaded over HTTP | ${latency.loadSeconds.toFixed(1)} s | |`,
    `| first diff (cold: goals + one scan of every fact) | ${ms(latency.firstDiffMs)} | |`,
    row(`nothing written since the last window`, latency.unchanged),
    row(`right after a one-fact tell`, latency.afterTell),
    row(`after a conversation turn (tell 2–5, retract 0–1; its predicates in focus)`, latency.afterTurn),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runContextBench({
    facts: Number(process.env.BENCH_CONTEXT_FACTS || 100_000),
    samples: Number(process.env.BENCH_CONTEXT_SAMPLES || 50),
    ...(process.env.BENCH_TMP ? { tmp: process.env.BENCH_TMP } : {}),
  });
  console.log(formatContextBench(result));
}
