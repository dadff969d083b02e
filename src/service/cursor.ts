import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';

/**
 * Paging cursors are opaque to clients: where the next page starts, plus a fingerprint of the
 * query, so a cursor used with another query is a 400 rather than a silently wrong page.
 */
export interface CursorPosition {
  /** Single-pattern reads: the index position to resume at and how many results of it were already sent. */
  readonly group?: string;
  readonly skip: number;
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
  const value = decoded as { group?: unknown; skip?: unknown; q?: unknown } | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.skip !== 'number' ||
    !Number.isInteger(value.skip) ||
    value.skip < 0 ||
    (value.group !== undefined && typeof value.group !== 'string')
  ) {
    throw new ValidationError('invalid cursor', { field: 'cursor' });
  }
  if (value.q !== fingerprint) throw new ValidationError('cursor belongs to a different query', { field: 'cursor' });
  return value.group === undefined ? { skip: value.skip } : { group: value.group, skip: value.skip };
}
