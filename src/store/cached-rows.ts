import { upperBound } from '../encoding/fact-keys.js';
import { SEP } from '../encoding/term-codec.js';
import type { KeyspaceReader } from './level-types.js';
import { type PinnedRanges, READ_AHEAD_ROWS, type Row } from './range-cache.js';

/*
 * The index rows a pattern's range holds, as the range cache (range-cache.ts) can give them
 * without a read of their own: the range itself cached, or cut out of its predicate's whole
 * rotation, read ahead once when small.
 */

/**
 * The rows of [gte, lt) as the range cache holds them: cached as such, or cut out of the whole
 * rotation of the predicate. 'read': the range must be read; 'read-ahead': the rotation is not
 * cached yet (cachedRows reads it ahead).
 */
export function cachedRowsNow(cached: PinnedRanges, gte: string, lt: string): readonly Row[] | 'read' | 'read-ahead' {
  const exact = cached.get(gte, lt);
  if (exact !== undefined && exact !== 'large') return exact;
  // A range resumed part-way (a later page) is not a prefix: only its own cached rows serve it.
  const rotation = lt === upperBound(gte) ? rotationOf(gte) : null;
  if (rotation === null) return 'read';
  const rows = cached.get(rotation.gte, rotation.lt);
  if (rows === undefined) return 'read-ahead';
  return rows === 'large' ? 'read' : rowsIn(rows, gte);
}

/**
 * The rows of [gte, lt) without a read of their own (range-cache.ts): cached as such, or cut out of
 * the whole rotation of the predicate, which a miss reads ahead when it is small. undefined: the
 * range must be read.
 */
export async function cachedRows(sub: KeyspaceReader, cached: PinnedRanges, gte: string, lt: string): Promise<readonly Row[] | undefined> {
  const now = cachedRowsNow(cached, gte, lt);
  if (now !== 'read-ahead') return now === 'read' ? undefined : now;
  const rotation = rotationOf(gte) as { gte: string; lt: string };
  const rows = await readAhead(sub, rotation);
  cached.put(rotation.gte, rotation.lt, rows);
  return rows === 'large' ? undefined : rowsIn(rows, gte);
}

/** The range of every index entry of one rotation of a predicate: the first four components of a range's start. */
function rotationOf(gte: string): { gte: string; lt: string } | null {
  let at = -1;
  for (let i = 0; i < 4; i++) {
    at = gte.indexOf(SEP, at + 1);
    if (at < 0) return null;
  }
  const prefix = gte.slice(0, at + 1);
  return { gte: prefix, lt: upperBound(prefix) };
}

/** The whole range in one round trip if it has at most READ_AHEAD_ROWS rows, else 'large'. */
async function readAhead(sub: KeyspaceReader, range: { gte: string; lt: string }): Promise<readonly Row[] | 'large'> {
  // No byte budget per round trip below what the row limit allows: the answer is whole or known too large.
  const iterator = sub.iterator({ ...range, limit: READ_AHEAD_ROWS + 1, highWaterMarkBytes: 16 * 1024 * 1024 });
  try {
    const rows: Row[] = [];
    for (;;) {
      const entries = (await iterator.nextv(READ_AHEAD_ROWS + 1 - rows.length)) as [string, string][];
      if (entries.length === 0) return rows;
      rows.push(...entries);
      if (rows.length > READ_AHEAD_ROWS) return 'large';
    }
  } finally {
    await iterator.close();
  }
}

/**
 * The rows of `rows` (one rotation's, all sharing its four-component prefix) whose key starts with
 * `prefix`. Only prefixes are compared, never an order: backends order keys differently (UTF-8 bytes
 * on disk, UTF-16 code units in memory), and a prefix's keys are adjacent in both. A point read is
 * the hot path of `/ask`, so the rows are grouped once by their fifth component (the first bound
 * argument) and a read finds its group in a map instead of scanning the rotation.
 */
function rowsIn(rows: readonly Row[], prefix: string): readonly Row[] {
  const fifth = componentEnd(prefix, 0, 5);
  if (fifth < 0) return scanPrefix(rows, 0, rows.length, prefix);
  const span = groupsOf(rows).get(prefix.slice(0, fifth + 1));
  if (span === undefined) return [];
  return fifth + 1 === prefix.length ? rows.slice(span[0], span[1]) : scanPrefix(rows, span[0], span[1], prefix);
}

const GROUPED = new WeakMap<readonly Row[], Map<string, readonly [number, number]>>();

/** Where each fifth-component prefix's rows start and end (adjacent: they share a prefix). */
function groupsOf(rows: readonly Row[]): Map<string, readonly [number, number]> {
  let groups = GROUPED.get(rows);
  if (groups !== undefined) return groups;
  groups = new Map();
  let current = '';
  let start = 0;
  for (let i = 0; i < rows.length; i++) {
    const key = (rows[i] as Row)[0];
    const end = componentEnd(key, 0, 5);
    const group = end < 0 ? key : key.slice(0, end + 1);
    if (group !== current) {
      if (i > 0) groups.set(current, [start, i]);
      current = group;
      start = i;
    }
  }
  if (rows.length > 0) groups.set(current, [start, rows.length]);
  GROUPED.set(rows, groups);
  return groups;
}

/** Index of the `count`-th SEP of `key` at or after `from`, or -1. */
function componentEnd(key: string, from: number, count: number): number {
  let at = from - 1;
  for (let i = 0; i < count; i++) {
    at = key.indexOf(SEP, at + 1);
    if (at < 0) return -1;
  }
  return at;
}

function scanPrefix(rows: readonly Row[], from: number, to: number, prefix: string): readonly Row[] {
  let start = from;
  while (start < to && !(rows[start] as Row)[0].startsWith(prefix)) start++;
  let end = start;
  while (end < to && (rows[end] as Row)[0].startsWith(prefix)) end++;
  return rows.slice(start, end);
}

