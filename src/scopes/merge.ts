import { type FactKey, type FactRecord, type StoredFact, storedFact } from '../domain/fact.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import { type ChangedKey, type FactStates, type ScopeComparison, sameContent } from './compare.js';

export type MergeStrategy = 'SOURCE_WINS' | 'TARGET_WINS' | 'KEEP_BOTH' | 'REJECT';

/** A key changed on both sides in different ways, as each side holds it. */
export interface MergeConflict {
  readonly predicate: string;
  readonly args: ChangedKey['args'];
  readonly source: StoredFact | null;
  readonly target: StoredFact | null;
}

/** One change to the target's top layer: a record to write, or null to remove the fact. */
export interface MergeWrite {
  readonly key: FactKey;
  readonly record: FactRecord | null;
  /** The version the write makes (a removal's: the next after the one it removes). */
  readonly version: number;
}

/** Outcomes are values: only a caller decides that REJECT with conflicts is an error. */
export type MergePlan =
  | { readonly kind: 'up-to-date'; readonly conflicts: [] }
  | { readonly kind: 'merged'; readonly writes: MergeWrite[]; readonly changes: number; readonly countDelta: number; readonly conflicts: MergeConflict[] }
  | { readonly kind: 'conflicts'; readonly conflicts: MergeConflict[] };

interface KeyResolution {
  readonly positive: FactRecord | null;
  readonly negative: FactRecord | null;
  readonly conflict: boolean;
}

/** Three-way decision for one polarity: a side that did not change since the base yields to the one that did. */
function resolveIdentity(s: FactStates, strategy: MergeStrategy): { result: FactRecord | null; conflict: boolean } {
  if (sameContent(s.source, s.base)) return { result: s.target, conflict: false };
  if (sameContent(s.target, s.base)) return { result: s.source, conflict: false };
  if (sameContent(s.source, s.target)) return { result: s.target, conflict: false }; // convergent
  const pick = { SOURCE_WINS: s.source, TARGET_WINS: s.target, KEEP_BOTH: s.target ?? s.source, REJECT: s.target }[strategy];
  return { result: pick, conflict: true };
}

function resolveKey(key: ChangedKey, strategy: MergeStrategy): KeyResolution {
  const pos = resolveIdentity(key.positive, strategy);
  const neg = resolveIdentity(key.negative, strategy);
  let positive = pos.result;
  let negative = neg.result;
  let conflict = pos.conflict || neg.conflict;
  const contradictionBefore = key.positive.target !== null && key.negative.target !== null;
  if (positive && negative && !contradictionBefore) {
    // Opposite truths would meet in the target: the strategy picks a side, KEEP_BOTH keeps the contradiction.
    conflict = true;
    if (strategy === 'SOURCE_WINS') {
      if (key.positive.source === null) positive = null;
      else negative = null;
    } else if (strategy !== 'KEEP_BOTH') {
      if (key.positive.target === null) positive = null;
      else negative = null;
    }
  }
  return { positive, negative, conflict };
}

function factOf(key: ChangedKey, scope: ScopeRecord, positive: FactRecord | null, negative: FactRecord | null): StoredFact | null {
  const record = positive ?? negative;
  return record ? storedFact({ predicate: key.predicate, args: key.args, negated: positive === null }, scope.name, record) : null;
}

/** Plan a merge of source into target: the ops for the target's top layer, or the conflicts. */
export function planMerge(
  comparison: ScopeComparison,
  source: ScopeRecord,
  target: ScopeRecord,
  strategy: MergeStrategy,
  now: number,
): MergePlan {
  const writes: MergeWrite[] = [];
  const conflicts: MergeConflict[] = [];
  let changes = 0;
  let countDelta = 0;
  for (const key of comparison.changed) {
    const resolved = resolveKey(key, strategy);
    if (resolved.conflict) {
      conflicts.push({
        predicate: key.predicate,
        args: key.args,
        source: factOf(key, source, key.positive.source, key.negative.source),
        target: factOf(key, target, key.positive.target, key.negative.target),
      });
    }
    if (strategy === 'REJECT' && conflicts.length > 0) continue;
    for (const negated of [false, true]) {
      const before = negated ? key.negative.target : key.positive.target;
      const after = negated ? resolved.negative : resolved.positive;
      if (after === before || (after !== null && before !== null && sameContent(after, before))) continue;
      const identity = { predicate: key.predicate, args: key.args, negated };
      changes++;
      if (after === null) {
        countDelta--;
        writes.push({ key: identity, record: null, version: (before?.version ?? 0) + 1 });
      } else {
        if (before === null) countDelta++;
        const record = { ...after, version: (before?.version ?? 0) + 1, createdAt: before?.createdAt ?? after.createdAt, updatedAt: now };
        writes.push({ key: identity, record, version: record.version });
      }
    }
  }
  if (strategy === 'REJECT' && conflicts.length > 0) return { kind: 'conflicts', conflicts };
  if (changes === 0 && conflicts.length === 0) return { kind: 'up-to-date', conflicts: [] };
  return { kind: 'merged', writes, changes, countDelta, conflicts };
}
