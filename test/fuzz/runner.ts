import { Agent, request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { ERROR_TYPES } from '../../src/contract/envelope.js';
import { HTTP_STATUS } from '../../src/http/errors.js';
import { type FuzzCase, type Route, SESSION, SSE_SESSION, caseOf, routesOf } from './cases.js';
import { type SseSession, isJsonRpcError, mcpProblemOf, openSession, openSseSession, sseMessages } from './mcp.js';

/**
 * The fuzzer's property, checked on every reply: no status ≥ 500, every error is the JSON envelope
 * {code, message, details, type} with a known code whose status it has, every request answered,
 * and the server still up (GET /health) after each operation's cases.
 */

export interface FuzzOptions {
  readonly url: string;
  /** The OpenAPI document (GET /openapi.json of the server under test). */
  readonly document: Record<string, any>;
  readonly casesPerRoute: number;
  readonly seed: number;
  /** Stop starting new cases past this time (ms since epoch): the timed torture form. */
  readonly deadline?: number;
  /** Stop starting new cases of one operation after this long: a bounded run's share per operation. */
  readonly routeBudgetMs?: number;
  /** Cases every operation runs whatever the time (the budgets only cut what lies beyond): a loaded machine takes longer, not fewer. */
  readonly minCasesPerRoute?: number;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Told after each operation's cases (a long run's progress, so a run cut short still says how far it got). */
  readonly onRoute?: (route: string, cases: number, failures: number) => void;
  /** Only the operations whose `METHOD path` matches. */
  readonly only?: RegExp;
}

export interface Failure {
  readonly route: string;
  readonly problem: string;
  readonly request: FuzzCase;
  readonly status: number;
  readonly reply: string;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly routes: number;
  readonly cases: number;
  /** Cases per `METHOD path`. */
  readonly perRoute: Record<string, number>;
  /** Replies per status. */
  readonly statuses: Record<string, number>;
  readonly failures: Failure[];
  /** The slowest reply seen, and its request. */
  readonly slowest: { ms: number; route: string; status: number; request: FuzzCase | null };
  /** Replies that took over 2 s (up to 20), to find what held them. */
  readonly slow: { ms: number; route: string; status: number; request: FuzzCase }[];
  /** The longest the event loop (the server's, in this process) was held, in ms. */
  readonly loopDelayMaxMs: number;
  /** Requests resent after a reset on a reused keep-alive socket. */
  readonly retriedResets: number;
}

const REPLY_TIMEOUT_MS = 15_000;
const CHUNK = 500;
/** An error reply may excerpt what it refuses, never echo it whole. */
const MAX_ERROR_BYTES = 16 * 1024;

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/**
 * Send once; a reset on a reused keep-alive socket is the client's race with the server closing it
 * (Node's documented case for `req.reusedSocket`), so that one is retried on a fresh connection.
 */
async function send(url: string, agent: Agent, c: FuzzCase, retried: { count: number }): Promise<Answer> {
  try {
    return await sendOnce(url, agent, c);
  } catch (error) {
    if (!(error as { reused?: boolean }).reused) throw error;
    retried.count++;
    return sendOnce(url, undefined, c);
  }
}

function sendOnce(url: string, agent: Agent | undefined, c: FuzzCase): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    // Framed by its length, as every client frames a body (a GET's body is not chunked by default).
    const headers = c.body === undefined ? c.headers : { ...c.headers, 'content-length': String(Buffer.byteLength(c.body)) };
    const req = httpRequest({ host: hostname, port, method: c.method, path: c.path, headers, agent: agent ?? false, timeout: REPLY_TIMEOUT_MS }, (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      // A stream that opened is an answer: read no further (a POST's stream ends with its reply: read it).
      if (contentType.startsWith('text/event-stream') && c.method !== 'POST') {
        resolve({ status: res.statusCode ?? 0, contentType, text: '' });
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REPLY_TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, { reused: req.reusedSocket && error.code === 'ECONNRESET' })));
    req.end(c.body);
  });
}

/**
 * What is wrong with a reply, or null. The MCP transports answer in JSON-RPC: their replies are
 * checked message by message, and a transport-level refusal may be a JSON-RPC error object (what
 * MCP clients parse there) as well as the envelope.
 */
export function problemOf(answer: Answer, mcp = false): string | null {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (mcp && answer.status < 400) {
    // A JSON reply or the stream of a POST; a 202 to a notification has no message.
    const messages = answer.contentType.startsWith('text/event-stream') ? sseMessages(answer.text) : answer.contentType.startsWith('application/json') ? [parsed(answer.text)] : [];
    for (const message of messages.flat()) {
      const problem = mcpProblemOf(message);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (answer.status < 400) return null;
  if (mcp && isJsonRpcError(answer.text)) return null;
  if (!answer.contentType.startsWith('application/json')) return `error reply of type '${answer.contentType}'`;
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return 'error reply is not JSON';
  }
  const keys = body !== null && typeof body === 'object' ? Object.keys(body).sort().join(',') : typeof body;
  if (keys !== 'code,details,message,type') return `error reply is not the envelope (keys ${keys})`;
  if (!Object.hasOwn(HTTP_STATUS, body.code)) return `unknown error code ${JSON.stringify(body.code)}`;
  if (HTTP_STATUS[body.code as keyof typeof HTTP_STATUS] !== answer.status) return `code ${body.code} with status ${answer.status}`;
  if (body.type !== ERROR_TYPES[body.code as keyof typeof ERROR_TYPES]) return `code ${body.code} with type ${JSON.stringify(body.type)}`;
  if (typeof body.message !== 'string') return 'message is not a string';
  if (body.details !== null && (typeof body.details !== 'object' || Array.isArray(body.details))) return 'details is neither an object nor null';
  if (Buffer.byteLength(answer.text) > MAX_ERROR_BYTES) return `error reply of ${Buffer.byteLength(answer.text)} bytes echoes its input`;
  return null;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return 'not JSON';
  }
}

/** Up to `limit` promises at once over `items`, in order of start. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`)).status === 200;
  } catch {
    return false;
  }
}

export async function fuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  const routes = routesOf(options.document).filter((r) => options.only === undefined || options.only.test(`${r.method} ${r.path}`));
  const perRoute: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const failures: Failure[] = [];
  const retried = { count: 0 };
  let slowest: FuzzSummary['slowest'] = { ms: 0, route: '', status: 0, request: null };
  const slow: FuzzSummary['slow'] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    for (const [index, route] of routes.entries()) {
      const name = `${route.method} ${route.path}`;
      perRoute[name] = 0;
      const mcp = route.path.startsWith('/mcp');
      // A fresh session per MCP operation: cases of the one before may have closed it.
      const session = mcp ? await openSession(options.url) : null;
      const sse: SseSession | null = route.path === '/mcp/messages' ? await openSseSession(options.url) : null;
      const arbitrary = caseOf(route, { tools: session?.tools ?? [] });
      // The budget starts with the first case sent: drawing the first chunk (a cold arbitrary on a loaded machine) is not the server's time.
      let routeDeadline = options.deadline ?? Infinity;
      let sending = false;
      const floor = Math.min(options.minCasesPerRoute ?? 0, options.casesPerRoute);
      const open = () => (perRoute[name] ?? 0) < floor || Date.now() <= routeDeadline;
      const runCase = async (drawn: FuzzCase): Promise<void> => {
        if (!sending) {
          sending = true;
          if (options.routeBudgetMs !== undefined) routeDeadline = Math.min(routeDeadline, Date.now() + options.routeBudgetMs);
        }
        if (!open()) return;
        perRoute[name] = (perRoute[name] ?? 0) + 1;
        const c = bound(drawn, session?.id ?? '', sse?.id ?? '');
        const started = Date.now();
        const answer = await send(options.url, agent, c, retried).catch((error: Error) => ({ status: 0, contentType: '', text: error.message }));
        const ms = Date.now() - started;
        if (ms > slowest.ms) slowest = { ms, route: name, status: answer.status, request: brief(c) };
        if (ms > 2000 && slow.length < 20) slow.push({ ms, route: name, status: answer.status, request: brief(c) });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        const problem = answer.status === 0 ? `no answer: ${answer.text}` : problemOf(answer, mcp);
        if (problem !== null) failures.push({ route: name, problem, request: brief(c), status: answer.status, reply: answer.text.slice(0, 500) });
      };
      // Drawn in chunks (a torture run's 20,000 cases with huge bodies would not fit in memory at
      // once), each seeded from the run's seed, the operation's index and the chunk's: reproducible.
      for (let chunk = 0; chunk * CHUNK < options.casesPerRoute && open(); chunk++) {
        const cases = fc.sample(arbitrary, { seed: options.seed + index + chunk * 7919, numRuns: Math.min(CHUNK, options.casesPerRoute - chunk * CHUNK) });
        await pool(cases, options.concurrency ?? 4, runCase);
      }
      if (sse !== null) {
        // Replies to the legacy transport's POSTs arrive on its stream: give the last ones time to.
        await new Promise((resolve) => setTimeout(resolve, 200));
        sse.close();
        for (const problem of sse.problems) failures.push({ route: name, problem: `on the SSE stream: ${problem}`, request: { method: 'GET', path: '/mcp/sse', headers: {} }, status: 200, reply: '' });
      }
      if (!(await healthy(options.url))) {
        failures.push({ route: name, problem: 'server down after this operation', request: { method: 'GET', path: '/health', headers: {} }, status: 0, reply: '' });
        break;
      }
      options.onRoute?.(name, perRoute[name] ?? 0, failures.filter((f) => f.route === name).length);
    }
  } finally {
    agent.destroy();
    loop.disable();
  }
  const cases = Object.values(perRoute).reduce((a, b) => a + b, 0);
  return { seed: options.seed, routes: routes.length, cases, perRoute, statuses, failures, slowest, slow, loopDelayMaxMs: Math.round(loop.max / 1e6), retriedResets: retried.count };
}

/** The case with the runner's session ids in place of their placeholders. */
function bound(c: FuzzCase, session: string, sse: string): FuzzCase {
  const headers = c.headers['mcp-session-id'] === SESSION ? { ...c.headers, 'mcp-session-id': session } : c.headers;
  return { ...c, path: c.path.replace(`sessionId=${SSE_SESSION}`, `sessionId=${encodeURIComponent(sse)}`), headers };
}

/** A request short enough to print. */
function brief(c: FuzzCase): FuzzCase {
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s);
  return { method: c.method, path: cut(c.path), headers: Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, cut(v)])), ...(c.body === undefined ? {} : { body: cut(c.body) }) };
}
