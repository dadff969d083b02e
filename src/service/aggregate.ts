import type { AggregateOperation } from '../contract/query.js';
import type { Term } from '../domain/fact.js';
import { compareBindings } from '../engine/index.js';

/** One matched fact (pattern) or answer (query): the value it contributes (absent: COUNT without one) and its group's bindings. */
export interface AggregateRow {
  readonly value?: Term;
  readonly bindings: Readonly<Record<string, Term>>;
}

export interface AggregateGroup {
  readonly key: Record<string, Term>;
  readonly result: number | Term | null;
}

export interface AggregateResult {
  readonly operation: AggregateOperation;
  readonly result: number | Term | null;
  readonly matchedFacts: number;
  /** Values that are not numbers, left out of SUM, MIN, MAX and AVG (never read as 0). */
  readonly skipped: number;
  readonly groups?: AggregateGroup[];
}

/** Fold the rows: COUNT counts them, COUNT_DISTINCT counts distinct values (30 and "30" are two), the others take numbers only. */
function fold(operation: AggregateOperation, rows: readonly AggregateRow[]): { result: number | null; skipped: number } {
  if (operation === 'COUNT') return { result: rows.length, skipped: 0 };
  if (operation === 'COUNT_DISTINCT') return { result: new Set(rows.map((r) => JSON.stringify(r.value ?? null))).size, skipped: 0 };
  const numbers: number[] = [];
  for (const row of rows) if (typeof row.value === 'number') numbers.push(row.value);
  const skipped = rows.length - numbers.length;
  if (operation === 'SUM') return { result: numbers.reduce((a, b) => a + b, 0), skipped };
  if (numbers.length === 0) return { result: null, skipped };
  if (operation === 'MIN') return { result: numbers.reduce((a, b) => Math.min(a, b)), skipped };
  if (operation === 'MAX') return { result: numbers.reduce((a, b) => Math.max(a, b)), skipped };
  return { result: numbers.reduce((a, b) => a + b, 0) / numbers.length, skipped };
}

export function aggregate(operation: AggregateOperation, rows: readonly AggregateRow[], groupBy: readonly string[]): AggregateResult {
  const whole = fold(operation, rows);
  const base = { operation, result: whole.result, matchedFacts: rows.length, skipped: whole.skipped };
  if (groupBy.length === 0) return base;
  const groups = new Map<string, { key: Record<string, Term>; rows: AggregateRow[] }>();
  for (const row of rows) {
    const key = Object.fromEntries(groupBy.map((name) => [name, row.bindings[name] ?? null]));
    const id = JSON.stringify(groupBy.map((name) => key[name]));
    let group = groups.get(id);
    if (group === undefined) groups.set(id, (group = { key, rows: [] }));
    group.rows.push(row);
  }
  const ordered = [...groups.values()].sort((a, b) => compareBindings(a.key, b.key, groupBy));
  return { ...base, groups: ordered.map((g) => ({ key: g.key, result: fold(operation, g.rows).result })) };
}
