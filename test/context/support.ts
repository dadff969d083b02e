import type { Api, Reply } from '../helpers/server.js';

export type Term = string | number | boolean | null;

export interface EntryJson {
  readonly predicate: string;
  readonly args: Term[];
  readonly negated: boolean;
  readonly scope: string | null;
  readonly confidence: number;
  readonly createdAt: number | null;
  readonly salience: number;
  readonly provenance: { rule: string; premises: string[] } | null;
  readonly $context: string;
}

/** `pred(arg, …)`, with a leading `-` when negated: a compact name for an entry in assertions. */
export function label(entry: { predicate: string; args: readonly Term[]; negated?: boolean }): string {
  return `${entry.negated ? '-' : ''}${entry.predicate}(${entry.args.map((a) => String(a)).join(', ')})`;
}

export async function ok(reply: Promise<Reply>): Promise<any> {
  const r = await reply;
  if (r.status !== 200) throw new Error(`expected 200, got ${r.status}: ${r.text}`);
  return r.json;
}

export const optimize = (client: Api, body: Record<string, unknown> = {}) => ok(client.post('/context/optimize', body));
export const diff = (client: Api, body: Record<string, unknown>) => ok(client.post('/context/diff', body));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
