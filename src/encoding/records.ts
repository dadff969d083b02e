import { CorruptionError } from '../domain/errors.js';
import type { FactRecord } from '../domain/fact.js';

/**
 * On-disk format version; a database written by a version this server cannot read is refused at
 * open, and an older one it can read is migrated (store/fact-database.ts checkFormat). Format 1
 * is pinned by the fixture database under test/fixtures/format-1 (a change of format must migrate it).
 *
 * 2: the facts of fact events are stored packed (encoding/event-values.ts). Format-1 events read
 *    as they are, so migrating 1 → 2 rewrites nothing but the version.
 */
export const FORMAT_VERSION = 2;

/** Formats this server opens, migrating them to FORMAT_VERSION. */
export const READABLE_FORMATS: readonly number[] = [1, 2];

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

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumberOrNull = (v: unknown): v is number | null => v === null || isNumber(v);

/** Decode an index entry's value, checking every field; `key` names the entry in the error. */
export function decodeEntryValue(raw: string, key: string | null = null): EntryValue {
  if (raw === TOMBSTONE) return { kind: 'tombstone' };
  if (raw[0] !== RECORD) throw new CorruptionError('fact record', key);
  let row: unknown;
  try {
    row = JSON.parse(raw.slice(1));
  } catch (error) {
    throw new CorruptionError('fact record', key, error);
  }
  if (!Array.isArray(row) || row.length < 4 || row.length > 9) throw new CorruptionError('fact record', key);
  const [version, createdAt, updatedAt, confidence, ttl = null, expiresAt = null, validFrom = null, validUntil = null, metadata = null] = row as unknown[];
  const valid =
    isNumber(version) && Number.isInteger(version) && version >= 1 &&
    isNumber(createdAt) && isNumber(updatedAt) && isNumber(confidence) &&
    isNumberOrNull(ttl) && isNumberOrNull(expiresAt) && isNumberOrNull(validFrom) && isNumberOrNull(validUntil) &&
    (metadata === null || (typeof metadata === 'object' && !Array.isArray(metadata)));
  if (!valid) throw new CorruptionError('fact record', key);
  return {
    kind: 'record',
    record: {
      version,
      createdAt,
      updatedAt,
      confidence,
      ttl,
      expiresAt,
      validFrom,
      validUntil,
      metadata: metadata as FactRecord['metadata'],
    },
  };
}

/** JSON values of small control records (scopes, registries): one place to write them. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value);
}

/** Something that checks a decoded value's shape (a zod schema fits). */
export interface RecordShape<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

/**
 * Decode a control record and check its shape: what fails is a CorruptionError naming the key.
 * `unpack` turns the stored form into the shape's (undefined: malformed).
 */
export function decodeJson<T>(raw: string, shape: RecordShape<T>, what: string, key: string | null = null, unpack?: (value: unknown) => unknown): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new CorruptionError(what, key, error);
  }
  if (unpack !== undefined) value = unpack(value);
  const parsed = shape.safeParse(value);
  if (!parsed.success) throw new CorruptionError(what, key);
  return parsed.data;
}
