import { CorruptionError } from '../domain/errors.js';
import type { FactRecord } from '../domain/fact.js';

/**
 * On-disk format version; a database written by a version this server cannot read is refused at
 * open, and an older one it can read is migrated (store/fact-database.ts checkFormat). Format 1
 * is pinned by the fixture database under test/fixtures/format-1 (a change of format must migrate it).
 *
 * 2: the facts of fact events are stored packed (encoding/event-values.ts), and fact records
 *    in a compact text form (below). Format-1 events and records read as they are, so migrating
 *    1 → 2 rewrites nothing but the version.
 */
export const FORMAT_VERSION = 2;

/** Formats this server opens, migrating them to FORMAT_VERSION. */
export const READABLE_FORMATS: readonly number[] = [1, 2];

/**
 * Values of index entries: a live record or a tombstone (a retraction in a scope that hides the
 * fact of a parent layer). A record is written once per index position, so every byte counts n
 * times:
 * - format 2 (COMPACT): `c` then comma-separated fields, trailing empty ones dropped:
 *   version and createdAt in base 36, updatedAt in base 36 or empty when equal to createdAt,
 *   confidence (empty: 1), ttl, expiresAt, validFrom, validUntil (decimal, empty: null), then the
 *   metadata as JSON (it may hold commas: it is everything after the eighth comma).
 *   `c1,mh3k2l9b` is a plain fact of version 1 (11 bytes, where format 1 took 34).
 * - format 1 (RECORD): `r` then positional JSON; still read, and still written for a record
 *   whose times are not non-negative integers (base 36 carries integers only).
 */
const TOMBSTONE = 't';
const RECORD = 'r';
const COMPACT = 'c';

export type EntryValue = { readonly kind: 'record'; readonly record: FactRecord } | { readonly kind: 'tombstone' };

const isTime = (n: number) => Number.isSafeInteger(n) && n >= 0;
const decimal = (n: number | null) => (n === null ? '' : String(n));

export function encodeRecord(r: FactRecord): string {
  if (!isTime(r.createdAt) || !isTime(r.updatedAt)) return encodeRecordJson(r);
  const fields = [
    r.version.toString(36),
    r.createdAt.toString(36),
    r.updatedAt === r.createdAt ? '' : r.updatedAt.toString(36),
    r.confidence === 1 ? '' : String(r.confidence),
    decimal(r.ttl),
    decimal(r.expiresAt),
    decimal(r.validFrom),
    decimal(r.validUntil),
  ];
  if (r.metadata !== null) return COMPACT + fields.join(',') + ',' + JSON.stringify(r.metadata);
  let end = fields.length;
  while (end > 2 && fields[end - 1] === '') end--;
  return COMPACT + fields.slice(0, end).join(',');
}

function encodeRecordJson(r: FactRecord): string {
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
  if (raw[0] === COMPACT) return { kind: 'record', record: decodeCompact(raw, key) };
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

const BASE36 = /^[0-9a-z]+$/;

function decodeCompact(raw: string, key: string | null): FactRecord {
  // Eight fields at most before the metadata, which is the rest (JSON may hold commas).
  const fields: string[] = [];
  let start = 1;
  let metadataText: string | null = null;
  for (;;) {
    const comma = raw.indexOf(',', start);
    if (fields.length === 8) {
      metadataText = raw.slice(start);
      break;
    }
    if (comma < 0) {
      fields.push(raw.slice(start));
      break;
    }
    fields.push(raw.slice(start, comma));
    start = comma + 1;
  }
  const base36 = (text: string | undefined): number => {
    if (text === undefined || !BASE36.test(text)) throw new CorruptionError('fact record', key);
    return Number.parseInt(text, 36);
  };
  const number = (text: string | undefined, empty: number | null): number | null => {
    if (text === undefined || text === '') return empty;
    const n = Number(text);
    if (!Number.isFinite(n)) throw new CorruptionError('fact record', key);
    return n;
  };
  const version = base36(fields[0]);
  const createdAt = base36(fields[1]);
  const updatedAt = fields[2] === undefined || fields[2] === '' ? createdAt : base36(fields[2]);
  let metadata: FactRecord['metadata'] = null;
  if (metadataText !== null) {
    try {
      metadata = JSON.parse(metadataText) as FactRecord['metadata'];
    } catch (error) {
      throw new CorruptionError('fact record', key, error);
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new CorruptionError('fact record', key);
  }
  if (version < 1) throw new CorruptionError('fact record', key);
  return {
    version,
    createdAt,
    updatedAt,
    confidence: number(fields[3], 1) as number,
    ttl: number(fields[4], null),
    expiresAt: number(fields[5], null),
    validFrom: number(fields[6], null),
    validUntil: number(fields[7], null),
    metadata,
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
