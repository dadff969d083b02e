import type { StoredFact } from '../domain/fact.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import { type ChangedKey, type ScopeComparison, sameContent, sortKeyOf } from './compare.js';
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

/** Two-way view of what differs between the scopes, among the keys either side changed since the base. */
export function diffScopes(comparison: ScopeComparison, source: ScopeRecord, target: ScopeRecord): ScopeDiff {
  const rows: DiffRow[] = [];
  let inBoth = comparison.untouchedInBase;
  for (const key of comparison.changed) {
    const order = sortKeyOf(key);
    if (conflicting(key)) {
      const side = (scope: ScopeRecord, which: 'source' | 'target'): StoredFact | null => {
        const record = key.positive[which] ?? key.negative[which];
        return record ? { predicate: key.predicate, args: key.args, negated: key.positive[which] === null, scope: scope.name, ...record } : null;
      };
      rows.push({ key: [order, 'c'], kind: 'conflict', conflict: { predicate: key.predicate, args: key.args, source: side(source, 'source'), target: side(target, 'target') } });
      continue;
    }
    for (const negated of [false, true]) {
      const states = negated ? key.negative : key.positive;
      const base = { predicate: key.predicate, args: key.args, negated };
      if (states.source && states.target) inBoth++;
      else if (states.source) rows.push({ key: [order, negated ? '1' : '0'], kind: 'only-in-source', fact: { ...base, scope: source.name, ...states.source } });
      else if (states.target) rows.push({ key: [order, negated ? '1' : '0'], kind: 'only-in-target', fact: { ...base, scope: target.name, ...states.target } });
    }
  }
  return { rows, inBoth };
}
