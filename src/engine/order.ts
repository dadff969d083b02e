/**
 * Answer order: rows sorted by their variable values (term order: null < false < true < numbers
 * < strings), first variable first. Done as a stable radix sort over per-variable ranks: only the
 * distinct values of each variable are compared, then rows are bucketed column by column, so
 * ordering a large answer costs a few linear passes instead of n·log n term comparisons.
 */
import type { Term } from '../domain/fact.js';
import { orderTerms } from './compare.js';

/** Lets a long sort yield to the event loop (RunContext). */
export interface Pacer {
  pace(): Promise<void>;
}

/** Rows stored back to back in one array (fewer objects for the collector than one array per row). */
export interface RowBlock {
  readonly data: unknown[];
  readonly width: number;
  readonly count: number;
}

/** Rank of each row's value in `slot` among the distinct values of that slot. */
async function ranksOf({ data, width, count }: RowBlock, slot: number, pacer: Pacer): Promise<{ ranks: Int32Array; distinct: number }> {
  // First number values by first appearance (one map lookup per row), then renumber in order.
  const seen = new Map<Term, number>();
  const values: Term[] = [];
  const ranks = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const value = data[i * width + slot] as Term;
    let id = seen.get(value);
    if (id === undefined) seen.set(value, (id = values.push(value) - 1));
    ranks[i] = id;
    if ((i & 32767) === 32767) await pacer.pace();
  }
  const byOrder = values.map((_, id) => id).sort((a, b) => orderTerms(values[a]!, values[b]!));
  const rankOfId = new Int32Array(values.length);
  byOrder.forEach((id, rank) => (rankOfId[id] = rank));
  for (let i = 0; i < ranks.length; i++) ranks[i] = rankOfId[ranks[i]!]!;
  return { ranks, distinct: values.length };
}

/** Stable counting sort of `order` (row indices) by `ranks`. */
function countingSort(order: Int32Array, ranks: Int32Array, distinct: number): Int32Array {
  const starts = new Int32Array(distinct + 1);
  for (let i = 0; i < order.length; i++) starts[ranks[order[i]!]! + 1]! += 1;
  for (let r = 0; r < distinct; r++) starts[r + 1]! += starts[r]!;
  const sorted = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) sorted[starts[ranks[order[i]!]!]!++] = order[i]!;
  return sorted;
}

/** Indices of the rows ordered by slots 0 … slots-1 (least significant column sorted first, stably). */
export async function sortOrder(rows: RowBlock, slots: number, pacer: Pacer): Promise<Int32Array> {
  let order: Int32Array = Int32Array.from({ length: rows.count }, (_, i) => i);
  for (let slot = slots - 1; slot >= 0; slot--) {
    const { ranks, distinct } = await ranksOf(rows, slot, pacer);
    order = countingSort(order, ranks, distinct);
    await pacer.pace();
  }
  return order;
}

/** The first position in `order` whose row comes strictly after `after` (binary search: `order` is sorted). */
export function firstAfter(rows: RowBlock, order: Int32Array, slots: number, after: readonly Term[]): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = order[mid]! * rows.width;
    let cmp = 0;
    for (let slot = 0; slot < slots && cmp === 0; slot++) cmp = orderTerms(rows.data[at + slot] as Term, after[slot] as Term);
    if (cmp <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
