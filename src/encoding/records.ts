import type { FactRecord } from '../domain/fact.js';

/** On-disk format version; a database written by another version is refused at open (store/open.ts). */
export const FORMAT_VERSION = 1;

/**
 * Values of index entries: a live record or a tombstone (a retraction in a scope that hides the
 * fact of a parent layer). Records are compact positional JSON: they are written once per index
 * position, so every byte counts n times.
 */
const TOMBSTONE = 't';
const RECORD = 'r';

export type EntryValue = { readonly kind: 'record'; readonly record: FactRecord } | { readonly kind: 'tombstone' };

export function encodeRecord(r: FactRecord): string {
  const row: unknown[] = [r.version, r.createdAt, r.updatedAt, r.confidence, r.ttl, r.expiresAt, r.validFrom, r.validUntil, r.metadata];
  while (row.length > 4 && row[row.length - 1] === null) row.pop();
  return RECORD + JSON.stringify(row);
}

export const TOMBSTONE_VALUE = TOMBSTONE;

export function decodeEntryValue(raw: string): EntryValue {
  if (raw === TOMBSTONE) return { kind: 'tombstone' };
  if (raw[0] !== RECORD) throw new TypeError('corrupt fact record');
  const row = JSON.parse(raw.slice(1)) as unknown[];
  const at = (i: number) => (row[i] ?? null) as never;
  return {
    kind: 'record',
    record: {
      version: at(0),
      createdAt: at(1),
      updatedAt: at(2),
      confidence: at(3),
      ttl: at(4),
      expiresAt: at(5),
      validFrom: at(6),
      validUntil: at(7),
      metadata: at(8),
    },
  };
}

/** JSON values of small control records (scopes, registries): one place to parse them. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value);
}

export function decodeJson<T>(raw: string): T {
  return JSON.parse(raw) as T;
}
