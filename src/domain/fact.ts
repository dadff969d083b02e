/**
 * Facts are n-ary: predicate(args…). A term is a JSON scalar; numbers and strings are distinct
 * terms (`30` is not `"30"`). Identity of a fact = predicate + args + negated + scope.
 */
export type Term = string | number | boolean | null;

export const MAX_ARITY = 16;
export const MAX_METADATA_BYTES = 8 * 1024;
export const MAIN_SCOPE = 'main';

/** The part of a fact that makes it the same fact within one scope. */
export interface FactKey {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
}

/** What a client asks to store. Times are epoch milliseconds. */
export interface FactInput extends FactKey {
  readonly scope: string;
  readonly confidence: number;
  readonly ttl: number | null;
  readonly validFrom: number | null;
  readonly validUntil: number | null;
  readonly metadata: Record<string, unknown> | null;
  /** A client-computed vector (Float32); null drops the stored one; absent keeps it across an upsert. */
  readonly embedding?: Float32Array | null;
}

/** What the store keeps per fact besides its key. */
export interface FactRecord {
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly confidence: number;
  readonly ttl: number | null;
  readonly expiresAt: number | null;
  readonly validFrom: number | null;
  readonly validUntil: number | null;
  readonly metadata: Record<string, unknown> | null;
}

/** A fact as seen by a reader: its key, the scope it was found in, and its record. */
export interface StoredFact extends FactKey, FactRecord {
  readonly scope: string;
}

/**
 * A stored fact from its key, the scope it was found in and its record, as one literal: a spread
 * after other properties (`{ predicate, …, ...record }`) defines each copied property through
 * V8's runtime, and the read path builds one of these per answer.
 */
export function storedFact(key: FactKey, scope: string, record: FactRecord): StoredFact {
  return {
    predicate: key.predicate,
    args: key.args,
    negated: key.negated,
    scope,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    confidence: record.confidence,
    ttl: record.ttl,
    expiresAt: record.expiresAt,
    validFrom: record.validFrom,
    validUntil: record.validUntil,
    metadata: record.metadata,
  };
}

/** A stored fact is visible at `now` unless it expired or is outside its validity window. */
export function isVisibleAt(record: FactRecord, now: number): boolean {
  if (record.expiresAt !== null && record.expiresAt <= now) return false;
  if (record.validFrom !== null && record.validFrom > now) return false;
  if (record.validUntil !== null && record.validUntil <= now) return false;
  return true;
}

/** isVisibleAt with valid time read at another moment than expiry (an as-of read asking about `validAt`). */
export function isVisibleAtTimes(record: FactRecord, now: number, validAt: number): boolean {
  if (record.expiresAt !== null && record.expiresAt <= now) return false;
  if (record.validFrom !== null && record.validFrom > validAt) return false;
  if (record.validUntil !== null && record.validUntil <= validAt) return false;
  return true;
}

/** Patterns: `undefined` in a position means "any term" (a variable, after the caller named it). */
export interface FactPattern {
  readonly predicate: string;
  readonly args: readonly (Term | undefined)[];
  readonly negated: boolean;
}

export function termsEqual(a: Term, b: Term): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/** Canonical text of a fact key, for maps and sets (JSON keeps 30 and "30" apart). */
export function factKeyId(key: FactKey): string {
  return JSON.stringify([key.predicate, key.negated ? 1 : 0, ...key.args]);
}
