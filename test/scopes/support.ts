import http from 'node:http';
import type { Api, Reply } from '../helpers/server.js';

/**
 * Helpers of the scope tests: read the full visible state of a scope as canonical lines, so two
 * states compare with one deepEqual, and a failure shows which fact differs.
 */
export type Term = string | number | boolean | null;
export type Metadata = Record<string, unknown> | null;
export type Strategy = 'SOURCE_WINS' | 'TARGET_WINS' | 'KEEP_BOTH' | 'REJECT';
export const STRATEGIES: readonly Strategy[] = ['SOURCE_WINS', 'TARGET_WINS', 'KEEP_BOTH', 'REJECT'];

/** A predicate and its arity: what one pattern ask (with variables only) covers. */
export interface Shape {
  readonly predicate: string;
  readonly arity: number;
  /** Never negated in this test: one ask fewer per read. */
  readonly positiveOnly?: boolean;
}

/** The JSON of a fact as the API returns it (the fields the scope tests look at). */
export interface FactReply {
  readonly predicate: string;
  readonly args: Term[];
  readonly negated: boolean;
  readonly scope: string;
  readonly confidence: number;
  readonly metadata: Metadata;
}

export interface ScopeDetail {
  readonly name: string;
  readonly base: string | null;
  readonly facts: number;
  readonly createdAt: number;
}

/** `¬p(a,b)@0.5 {"v":1}`: identity, confidence and metadata; what a merge decides and a read shows. */
export function factLine(f: { predicate: string; args: readonly Term[]; negated: boolean; confidence: number; metadata: Metadata }): string {
  const args = f.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(',');
  const meta = f.metadata === null ? '' : ' ' + JSON.stringify(f.metadata);
  return `${f.negated ? '¬' : ''}${f.predicate}(${args})@${f.confidence}${meta}`;
}

/** Insist on a status; the reply text is in the message so a failure explains itself. */
export function expectStatus(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status}: ${reply.text.slice(0, 500)}`);
  return reply;
}

/** Every stored fact matching a pattern, all pages (rules are not involved: infer false). */
export async function askPages(client: Api, body: Record<string, unknown>, limit = 10_000): Promise<FactReply[]> {
  const all: FactReply[] = [];
  let cursor: string | null = null;
  do {
    const reply: Reply = await client.post('/ask', { ...body, infer: false, limit, cursor });
    expectStatus(reply, 200, `ask ${JSON.stringify(body)}`);
    all.push(...(reply.json.results as FactReply[]));
    cursor = (reply.json.cursor as string | null | undefined) ?? null;
  } while (cursor !== null);
  return all;
}

function variables(arity: number): string[] {
  return Array.from({ length: arity }, (_, i) => `?v${i}`);
}

/** Every visible fact of the shapes, both polarities, in one scope (or in all scopes when null). */
export async function visibleFacts(client: Api, scope: string | null, shapes: readonly Shape[]): Promise<FactReply[]> {
  const asks = shapes.flatMap((s) =>
    (s.positiveOnly ? [false] : [false, true]).map((negated) => ({ predicate: s.predicate, args: variables(s.arity), negated, scope })),
  );
  const pages = await Promise.all(asks.map((body) => askPages(client, body)));
  return pages.flat();
}

/** The visible facts of one scope as sorted canonical lines. */
export async function scopeLines(client: Api, scope: string, shapes: readonly Shape[]): Promise<string[]> {
  const facts = await visibleFacts(client, scope, shapes);
  for (const f of facts) if (f.scope !== scope) throw new Error(`ask in scope '${scope}' returned a fact of scope '${f.scope}'`);
  return facts.map(factLine).sort();
}

/** The visible facts of every scope, read once without a scope, grouped by the scope each reports. */
export async function linesByScope(client: Api, shapes: readonly Shape[]): Promise<Map<string, string[]>> {
  const byScope = new Map<string, string[]>();
  for (const f of await visibleFacts(client, null, shapes)) {
    const lines = byScope.get(f.scope) ?? [];
    lines.push(factLine(f));
    byScope.set(f.scope, lines);
  }
  for (const lines of byScope.values()) lines.sort();
  return byScope;
}

export async function scopeDetails(client: Api): Promise<ScopeDetail[]> {
  const reply = expectStatus(await client.get('/scopes'), 200, 'GET /scopes');
  return reply.json.details as ScopeDetail[];
}

/** Facts to tell, written compactly: `fact('¬p(a,b)@0.5', { v: 1 })`. */
export interface FactSpec {
  readonly predicate: string;
  readonly args: Term[];
  readonly negated: boolean;
  readonly confidence: number;
  readonly metadata: Metadata;
}

export function fact(text: string, metadata: Metadata = null): FactSpec {
  const m = /^(¬)?([A-Za-z_]\w*)\(([^)]*)\)(?:@([\d.]+))?$/.exec(text);
  if (!m) throw new TypeError(`not a fact spec: ${text}`);
  const args = m[3] === '' || m[3] === undefined ? [] : m[3].split(',');
  return { predicate: m[2] as string, args, negated: m[1] !== undefined, confidence: m[4] === undefined ? 1 : Number(m[4]), metadata };
}

/** The body of a tell of specs into a scope. */
export function tellBody(scope: string, facts: readonly FactSpec[]) {
  return { scope, facts: facts.map((f) => ({ ...f })) };
}

/** The body of the retraction of exactly one fact (its identity) in a scope. */
export function retractBody(scope: string, f: FactSpec) {
  return { scope, predicate: f.predicate, args: f.args, negated: f.negated };
}

/** Run async work over items with at most `width` at a time. */
export async function inPool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * The `Api` of helpers/server.ts over node:http with keep-alive sockets: a fraction of fetch's
 * client-side cost, which matters to the model test (tens of thousands of small requests).
 */
export function leanApi(url: string, defaults: Readonly<Record<string, string>> = {}): Api {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const request = (method: string, path: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const all: Record<string, string> = { ...defaults, ...headers };
      if (payload !== undefined) all['content-type'] ??= 'application/json';
      const req = http.request(url + path, { method, agent, headers: all }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const replyHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') replyHeaders.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: replyHeaders, json, text });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    request,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    with: (headers) => leanApi(url, { ...defaults, ...headers }),
  };
}
