import { type StoredFact, storedFact } from '../domain/fact.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import type { LayerSource } from '../store/tenant-reads.js';
import { type ChangedKey, type ScopeComparison, type WalkBudget, sameContent, walkChanged } from './compare.js';
import type { MergeConflict } from './merge.js';

/**
 * One row of a diff, in key order: what only one side holds, or a conflict. `key` orders the
 * rows (the comparison's key order, then the polarity or 'c' for a conflict); a page cursor names it.
 */
export type DiffRow = { readonly key: readonly [string, string] } & (
  | { readonly kind: 'only-in-source'; readonly fact: StoredFact }
  | { readonly kind: 'only-in-target'; readonly fact: StoredFact }
  | { readonly kind: 'conflict'; readonly conflict: MergeConflict }
);

export interface ScopeDiff {
  readonly rows: DiffRow[];
  readonly inBoth: number;
}

/** True when the two sides hold the key differently in a way a merge cannot settle alone. */
function conflicting(k: ChangedKey): boolean {
  const { positive: p, negative: n } = k;
  if (p.source && p.target && !sameContent(p.source, p.target)) return true;
  if (n.source && n.target && !sameContent(n.source, n.target)) return true;
  const sourceSays = p.source ? (n.source ? null : true) : n.source ? false : null;
  const targetSays = p.target ? (n.target ? null : true) : n.target ? false : null;
  return sourceSays !== null && targetSays !== null && sourceSays !== targetSays;
}

/** The rows of one changed key (none when both sides hold it alike) and how many of its facts are equal on both sides. */
export function diffRowsOf(key: ChangedKey, source: ScopeRecord, target: ScopeRecord): { rows: DiffRow[]; inBoth: number } {
  const order = key.presence;
  if (conflicting(key)) {
    const side = (scope: ScopeRecord, which: 'source' | 'target'): StoredFact | null => {
      const record = key.positive[which] ?? key.negative[which];
      return record ? storedFact({ predicate: key.predicate, args: key.args, negated: key.positive[which] === null }, scope.name, record) : null;
    };
    return { rows: [{ key: [order, 'c'], kind: 'conflict', conflict: { predicate: key.predicate, args: key.args, source: side(source, 'source'), target: side(target, 'target') } }], inBoth: 0 };
  }
  const rows: DiffRow[] = [];
  let inBoth = 0;
  for (const negated of [false, true]) {
    const states = negated ? key.negative : key.positive;
    const base = { predicate: key.predicate, args: key.args, negated };
    if (states.source && states.target) inBoth++;
    else if (states.source) rows.push({ key: [order, negated ? '1' : '0'], kind: 'only-in-source', fact: { ...base, scope: source.name, ...states.source } });
    else if (states.target) rows.push({ key: [order, negated ? '1' : '0'], kind: 'only-in-target', fact: { ...base, scope: target.name, ...states.target } });
  }
  return { rows, inBoth };
}

/** Two-way view of what differs between the scopes, among the keys either side changed since the base (whole: tests and small callers). */
export function diffScopes(comparison: ScopeComparison, source: ScopeRecord, target: ScopeRecord): ScopeDiff {
  const rows: DiffRow[] = [];
  let inBoth = comparison.untouchedInBase;
  for (const key of comparison.changed) {
    const one = diffRowsOf(key, source, target);
    rows.push(...one.rows);
    inBoth += one.inBoth;
  }
  return { rows, inBoth };
}

export interface DiffPageRows {
  readonly rows: DiffRow[];
  /** True when rows follow the last one of the page. */
  readonly more: boolean;
  /**
   * This page's share of `inBoth`: facts equal on both sides among the keys it walked, less those
   * of them the base holds (they were counted in the base's total, which the first page adds).
   */
  readonly inBoth: number;
}

/**
 * One page of a diff: the rows after `after` (a row key), at most `limit`, reading only as far as
 * the page needs (the walk resumes at the cursor's key and stops one row past the page).
 */
export async function diffPage(
  reads: LayerSource,
  source: ScopeRecord,
  target: ScopeRecord,
  options: { readonly after: readonly string[] | null; readonly limit: number; readonly budget?: WalkBudget },
): Promise<DiffPageRows> {
  const { after, limit } = options;
  const rows: DiffRow[] = [];
  let inBoth = 0;
  let more = false;
  const walk = walkChanged(reads, source, target, {
    from: after ? (after[0] ?? null) : null,
    wanted: () => limit + 1 - rows.length,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  // A key's count goes to the page that sends its first row, or (a key with no row) to the page
  // whose walk passes it; keys passed only to learn whether more rows follow are the next page's.
  let pending = 0;
  for await (const key of walk) {
    const one = diffRowsOf(key, source, target);
    const fresh = after ? one.rows.filter((row) => compareRowKeys(row.key, after) > 0) : one.rows;
    const share = after !== null && key.presence === after[0] ? 0 : one.inBoth - (key.positive.base ? 1 : 0) - (key.negative.base ? 1 : 0);
    if (rows.length === limit) {
      if (fresh.length > 0) {
        more = true;
        break;
      }
      pending += share;
      continue;
    }
    inBoth += share;
    const room = limit - rows.length;
    rows.push(...fresh.slice(0, room));
    if (fresh.length > room) {
      more = true;
      break;
    }
  }
  if (!more) inBoth += pending;
  return { rows, more, inBoth };
}

/** Compare two row keys part by part (code unit order, as the index sorts). */
function compareRowKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
