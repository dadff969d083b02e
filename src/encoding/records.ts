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
 * 3: transaction time. A tombstone carries the time it was written (`t<time base 36>`; a bare `t`
 *    of format 2 reads as written at 0), root layers keep tombstones instead of deleting, and every
 *    write is logged under H keys (encoding/history-keys.ts). Older data reads as it is (its past
 *    is simply not known), so migrating 2 → 3 rewrites nothing but the version; the bump keeps a
 *    format-2 server from opening a database whose tombstones it would take for corruption.
 */
export const FORMAT_VERSION = 3;

/** Formats this server opens, migrating them to FORMAT_VERSION. */
export const READABLE_FORMATS: readonly number[] = [1, 2, 3];

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

/** A tombstone's `at` is the transaction time of the retraction (0: written before format 3, time unknown). */
export type EntryValue = { readonly kind: 'record'; readonly record: FactRecord } | { readonly kind: 'tombstone'; readonly at: number };

/**
 * When an entry was written into its layer (its transaction time): a record's updatedAt (every
 * write path, tell and merge alike, stamps it with the transaction's now; flatten copies an entry
 * with its time), a tombstone's time.
 */
export function writtenAt(entry: EntryValue): number {
  return entry.kind === 'record' ? entry.record.updatedAt : entry.at;
}

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

/** A dated tombstone's value. */
export function encodeTombstone(at: number): string {
  return isTime(at) && at > 0 ? TOMBSTONE + at.toString(36) : TOMBSTONE;
}

/** encodeEntryValue for either kind. */
export function encodeEntry(entry: EntryValue): string {
  return entry.kind === 'record' ? encodeRecord(entry.record) : encodeTombstone(entry.at);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumberOrNull = (v: unknown): v is number | null => v === null || isNumber(v);

/** Decode an index entry's value, checking every field; `key` names the entry in the error. */
export function decodeEntryValue(raw: string, key: string | null = null): EntryValue {
  if (raw[0] === TOMBSTONE) return { kind: 'tombstone', at: decodeTombstoneTime(raw, key) };
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

function decodeTombstoneTime(raw: string, key: string | null): number {
  let at = 0;
  for (let i = 1; i < raw.length; i++) {
    const d = digit36(raw.charCodeAt(i));
    if (d < 0) throw new CorruptionError('fact record', key);
    at = at * 36 + d;
  }
  if (at > Number.MAX_SAFE_INTEGER) throw new CorruptionError('fact record', key);
  return at;
}

/** Value of a base-36 digit (0-9, a-z), or -1. */
function digit36(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  return -1;
}

const COMMA = 44;

/**
 * The compact form, scanned by hand: this runs once per row of every read (a JSON.parse of the
 * format-1 array costs ~0.2 µs; a split-and-regex version of this cost 1 µs and showed in `s??`).
 */
function decodeCompact(raw: string, key: string | null): FactRecord {
  const n = raw.length;
  let i = 1;
  // version, createdAt, updatedAt: base 36 (updatedAt empty: = createdAt)
  const ints = [0, 0, 0];
  const present = [false, false, false];
  for (let f = 0; f < 3; f++) {
    let value = 0;
    let digits = 0;
    for (; i < n; i++) {
      const c = raw.charCodeAt(i);
      if (c === COMMA) break;
      const d = digit36(c);
      if (d < 0) throw new CorruptionError('fact record', key);
      value = value * 36 + d;
      digits++;
    }
    if (digits > 0) {
      if (value > Number.MAX_SAFE_INTEGER) throw new CorruptionError('fact record', key);
      ints[f] = value;
      present[f] = true;
    }
    if (i >= n) break;
    i++; // the comma
    if (f === 2) break;
  }
  const version = ints[0] as number;
  const createdAt = ints[1] as number;
  if (!present[0] || !present[1] || version < 1) throw new CorruptionError('fact record', key);
  const updatedAt = present[2] ? (ints[2] as number) : createdAt;
  let confidence = 1;
  let ttl: number | null = null;
  let expiresAt: number | null = null;
  let validFrom: number | null = null;
  let validUntil: number | null = null;
  let metadata: FactRecord['metadata'] = null;
  if (i < n && raw.charCodeAt(i - 1) === COMMA) {
    // confidence, ttl, expiresAt, validFrom, validUntil: decimal, empty for the default; then metadata (the rest)
    const decimals: (number | null)[] = [null, null, null, null, null];
    let f = 0;
    for (; f < 5 && i <= n; f++) {
      let comma = raw.indexOf(',', i);
      if (comma < 0) comma = n;
      if (comma > i) {
        const value = Number(raw.slice(i, comma));
        if (!Number.isFinite(value)) throw new CorruptionError('fact record', key);
        decimals[f] = value;
      }
      i = comma + 1;
    }
    confidence = decimals[0] ?? 1;
    [, ttl = null, expiresAt = null, validFrom = null, validUntil = null] = decimals;
    if (f === 5 && i <= n) {
      try {
        metadata = JSON.parse(raw.slice(i)) as FactRecord['metadata'];
      } catch (error) {
        throw new CorruptionError('fact record', key, error);
      }
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new CorruptionError('fact record', key);
    }
  }
  return { version, createdAt, updatedAt, confidence, ttl, expiresAt, validFrom, validUntil, metadata };
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
