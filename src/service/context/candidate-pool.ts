import { SALIENCE_WEIGHTS, type TimeRange } from './salience.js';

/** A stored fact competing for a window: its score without recency, its time, and a payload. */
export interface Candidate<T> {
  /** Canonical fact key: the final tie-break, so equal scores still give one order. */
  readonly identity: string;
  /** What the per-predicate cap counts (the predicate), or '' when no cap applies. */
  readonly group: string;
  readonly base: number;
  readonly time: number;
  readonly payload: T;
}

/** Pruning runs when the pool holds this many candidates, or twice what the last pruning kept. */
const PRUNE_FLOOR = 4096;

/**
 * The candidates that can still make the window, in bounded memory, from one streaming pass.
 *
 * A candidate's final score is base + c·time, where c = recency weight / (newest − oldest) is
 * known only once every candidate was seen; it can only shrink as the time range widens. So x
 * is dropped once `keep` candidates of its group beat it for every c in [0, c_now]: y does when
 * base_y ≥ base_x and base_y + c_now·time_y ≥ base_x + c_now·time_x (ties: the smaller identity).
 * With keep = 2 × the per-group limit, x could not be selected even if contradiction handling
 * drops one side of every pair among those that beat it (a pair shares its group).
 */
export class CandidatePool<T> {
  private items: Candidate<T>[] = [];
  private oldest = Number.POSITIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;
  private pruneAt = PRUNE_FLOOR;

  constructor(private readonly keep: number) {}

  add(candidate: Candidate<T>): void {
    this.items.push(candidate);
    if (candidate.time < this.oldest) this.oldest = candidate.time;
    if (candidate.time > this.newest) this.newest = candidate.time;
    if (this.items.length >= this.pruneAt) {
      this.prune();
      this.pruneAt = Math.max(PRUNE_FLOOR, 2 * this.items.length);
    }
  }

  /** The time range of every candidate added (pruned ones included): what recency is normalised over. */
  get timeRange(): TimeRange {
    return this.items.length === 0 && this.oldest > this.newest ? { oldest: 0, newest: 0 } : { oldest: this.oldest, newest: this.newest };
  }

  get candidates(): readonly Candidate<T>[] {
    return this.items;
  }

  private prune(): void {
    const span = this.newest - this.oldest;
    const c = span > 0 ? SALIENCE_WEIGHTS.recency / span : 0;
    const value = (x: Candidate<T>) => x.base + c * (x.time - this.oldest);
    const sorted = this.items
      .map((item) => ({ item, value: value(item) }))
      .sort((a, b) => compareForPruning(a.item, a.value, b.item, b.value));
    const kept: Candidate<T>[] = [];
    let group: string | null = null;
    let best = new TopValues(this.keep);
    for (const { item, value: v } of sorted) {
      if (item.group !== group) {
        group = item.group;
        best = new TopValues(this.keep);
      }
      // Everything before x in its group has base ≥ base_x; `keep` of them with value ≥ v beat x for every c.
      if (best.full && best.min >= v) continue;
      best.offer(v);
      kept.push(item);
    }
    this.items = kept;
  }
}

function compareForPruning<T>(a: Candidate<T>, va: number, b: Candidate<T>, vb: number): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  if (a.base !== b.base) return b.base - a.base;
  if (va !== vb) return vb - va;
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

/** The `size` largest numbers offered so far (a binary min-heap). */
class TopValues {
  private readonly heap: number[] = [];

  constructor(private readonly size: number) {}

  get full(): boolean {
    return this.heap.length >= this.size;
  }

  get min(): number {
    return this.heap[0] ?? Number.NEGATIVE_INFINITY;
  }

  offer(value: number): void {
    if (!this.full) {
      this.heap.push(value);
      this.siftUp(this.heap.length - 1);
    } else if (value > this.min) {
      this.heap[0] = value;
      this.siftDown(0);
    }
  }

  private siftUp(at: number): void {
    const heap = this.heap;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (heap[parent]! <= heap[at]!) return;
      [heap[parent], heap[at]] = [heap[at]!, heap[parent]!];
      at = parent;
    }
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < heap.length && heap[left]! < heap[smallest]!) smallest = left;
      if (right < heap.length && heap[right]! < heap[smallest]!) smallest = right;
      if (smallest === at) return;
      [heap[smallest], heap[at]] = [heap[at]!, heap[smallest]!];
      at = smallest;
    }
  }
}
