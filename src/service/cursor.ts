import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import type { Term } from '../domain/fact.js';

/**
 * Paging cursors are opaque to clients: where the next page starts, plus a fingerprint of the
 * query, so a cursor used with another query is a 400 rather than a silently wrong page.
 */
export interface CursorPosition {
  /** Single-pattern reads (older cursors): the index position to resume at and how many results of it were already sent. */
  readonly group?: string;
  readonly skip: number;
  /**
   * Keyset paging: the key of the last row sent (its parts compared in order); the next page
   * starts strictly after it, so writes during paging neither repeat nor skip a row.
   */
  readonly after?: readonly string[];
  /** Keyset paging of engine answers: the bindings of the last answer sent (one term per answer variable). */
  readonly bindings?: readonly Term[];
  /** A running count a paged reply carries from page to page (a diff's `inBoth`). */
  readonly tally?: number;
}

const isTerm = (v: unknown): v is Term => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Compare two row keys part by part (code unit order, as the index sorts). */
export function compareRowKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function queryFingerprint(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}

export function encodeCursor(position: CursorPosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ ...position, q: fingerprint })).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('invalid cursor', { field: 'cursor' });
  }
  const value = decoded as { group?: unknown; skip?: unknown; after?: unknown; bindings?: unknown; tally?: unknown; q?: unknown } | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.skip !== 'number' ||
    !Number.isInteger(value.skip) ||
    value.skip < 0 ||
    (value.group !== undefined && typeof value.group !== 'string') ||
    (value.after !== undefined && !(Array.isArray(value.after) && value.after.length <= 4 && value.after.every((p) => typeof p === 'string'))) ||
    (value.bindings !== undefined && !(Array.isArray(value.bindings) && value.bindings.every(isTerm))) ||
    (value.tally !== undefined && !(typeof value.tally === 'number' && Number.isSafeInteger(value.tally)))
  ) {
    throw new ValidationError('invalid cursor', { field: 'cursor' });
  }
  if (value.q !== fingerprint) throw new ValidationError('cursor belongs to a different query', { field: 'cursor' });
  return {
    skip: value.skip,
    ...(value.group === undefined ? {} : { group: value.group }),
    ...(value.after === undefined ? {} : { after: value.after as string[] }),
    ...(value.bindings === undefined ? {} : { bindings: value.bindings as Term[] }),
    ...(value.tally === undefined ? {} : { tally: value.tally as number }),
  };
}
