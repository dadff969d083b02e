import type { Api, Reply } from './server.js';

export type Term = string | number | boolean | null;

export interface FactJson {
  readonly predicate: string;
  readonly args: Term[];
  readonly negated: boolean;
  readonly scope: string;
  readonly [field: string]: unknown;
}

let counter = 0;

/** A name no other test of this process uses: tests of a file run concurrently against one server. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Every result of an ask, following cursors; fails loudly on a non-200 page. */
export async function askAll(client: Api, body: Record<string, unknown>, pageLimit = 10_000): Promise<(FactJson & { bindings: Record<string, Term> })[]> {
  const all: (FactJson & { bindings: Record<string, Term> })[] = [];
  let cursor: string | null = null;
  do {
    const reply: Reply = await client.post('/ask', { ...body, limit: pageLimit, cursor });
    if (reply.status !== 200) throw new Error(`ask failed with ${reply.status}: ${reply.text}`);
    all.push(...reply.json.results);
    cursor = reply.json.cursor ?? null;
  } while (cursor !== null);
  return all;
}

/** Tell and insist on a 200: for setting up state. */
export async function tellOk(client: Api, body: unknown): Promise<FactJson[]> {
  const reply = await client.post('/tell', body);
  if (reply.status !== 200) throw new Error(`tell failed with ${reply.status}: ${reply.text}`);
  return reply.json.facts;
}

/** A canonical text of what makes a fact itself, to compare sets of facts (JSON keeps 30 and "30" apart). */
export function factId(fact: { predicate: string; args: readonly Term[]; negated?: boolean; scope?: string }): string {
  return JSON.stringify([fact.predicate, fact.args, fact.negated ?? false, fact.scope ?? 'main']);
}

/** Poll until `check` is true; for effects that take time (ttl), never asserting how long they took. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
