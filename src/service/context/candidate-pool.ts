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

export interface PoolOptions {
  /**
   * Extra beaters kept per group: that many candidates present at a pruning may later be removed
   * (a retract, an upsert) before the pool can no longer vouch for what it dropped.
   */
  readonly margin?: number;
  /** Pruning runs when the pool holds this many candidates, or twice what the last pruning kept. */
  readonly pruneFloor?: number;
}

const PRUNE_FLOOR = 4096;

/** How many of the oldest and of the newest candidate times the pool remembers (recency's range survives removals). */
const EXTREMES = 64;

interface Slot<T> {
  readonly candidate: Candidate<T>;
  /** Order of arrival: a slot older than the last pruning may be what a dropped candidate was measured against. */
  readonly seq: number;
}

/**
 * The candidates that can still make the window, in bounded memory, from one streaming pass,
 * kept exact under later additions and removals (writes applied without a new pass).
 *
 * A candidate's final score is base + c·time, where c = recency weight / (newest − oldest) is
 * known only once every candidate was seen. x is dropped once `keep + margin` candidates of its
 * group beat it for every c in [0, c_prune]: y does when base_y ≥ base_x and
 * base_y + c_prune·time_y ≥ base_x + c_prune·time_x (ties: the smaller identity). With keep = 2 ×
 * the per-group limit, x could not be selected even if contradiction handling drops one side of
 * every pair among those that beat it (a pair shares its group); when those beaters are also at
 * least as recent as x, they beat it for every c. So the pool answers exactly while
 * - the final c is at most the smallest c a pruning used to drop a candidate that only its
 *   older beaters outrank (a wider time range only lowers c), and
 * - in a group that lost candidates to pruning, at most `margin` candidates were removed that a
 *   pruning had seen (those added after the last pruning beat nothing that was dropped).
 * `exactness()` says when that no longer holds; the caller then makes a new pass.
 *
 * Recency is normalised over every candidate (pruned ones included): the pool counts them and
 * keeps the EXTREMES oldest and newest (time, identity), so a removal updates the range exactly
 * unless it empties one of those lists.
 */
export class CandidatePool<T> {
  private items = new Map<string, Slot<T>>();
  /** Candidates in the set the pool stands for, pruned ones included. */
  private total = 0;
  private readonly oldest = new Extremes(1);
  private readonly newest = new Extremes(-1);
  private readonly margin: number;
  private readonly pruneFloor: number;
  private pruneAt: number;
  private seq = 0;
  private lastPruneSeq = 0;
  /** The smallest c (recency weight per ms) any pruning measured with; ranking needs c ≤ this. */
  private cBound = Number.POSITIVE_INFINITY;
  /** Per group that lost candidates to pruning: how many candidates a pruning had seen were removed since. */
  private readonly removedBeaters = new Map<string, number>();
  private broken: string | null = null;

  constructor(
    private readonly keep: number,
    options: PoolOptions = {},
  ) {
    this.margin = options.margin ?? 0;
    this.pruneFloor = options.pruneFloor ?? PRUNE_FLOOR;
    this.pruneAt = this.pruneFloor;
  }

  /** A candidate of the set (its identity must not be in the set already). */
  add(candidate: Candidate<T>): void {
    this.oldest.offer(candidate.identity, candidate.time, this.total);
    this.newest.offer(candidate.identity, candidate.time, this.total);
    this.total++;
    this.items.set(candidate.identity, { candidate, seq: this.seq++ });
    if (this.items.size >= this.pruneAt) this.prune();
  }

  /** A candidate of the set left it (a retract, or an upsert about to be added again); it may have been pruned already. */
  remove(identity: string): void {
    this.total--;
    this.oldest.remove(identity);
    this.newest.remove(identity);
    const slot = this.items.get(identity);
    if (slot === undefined) return;
    this.items.delete(identity);
    const group = slot.candidate.group;
    const removed = this.removedBeaters.get(group);
    if (removed !== undefined && slot.seq < this.lastPruneSeq) {
      this.removedBeaters.set(group, removed + 1);
      if (removed + 1 > this.margin) this.broken ??= 'more removals among the candidates that outrank pruned ones than the pool kept spare';
    }
  }

  /** The kept candidate of that identity, if any. */
  get(identity: string): Candidate<T> | undefined {
    return this.items.get(identity)?.candidate;
  }

  /** Score every kept candidate again (bases only rise: access counts climb). */
  rescore(baseOf: (candidate: Candidate<T>) => number): void {
    for (const slot of this.items.values()) {
      const base = baseOf(slot.candidate);
      if (base !== slot.candidate.base) this.items.set(slot.candidate.identity, { candidate: { ...slot.candidate, base }, seq: slot.seq });
    }
  }

  /** Prune now (end of a pass): keeps memory and ranking work at what can still make the window. */
  compact(): void {
    if (this.items.size > 2 * (this.keep + this.margin)) this.prune();
  }

  /** Candidates the pool holds now (what its memory follows). */
  get held(): number {
    return this.items.size;
  }

  /** Candidates in the set, pruned ones included. */
  get size(): number {
    return this.total;
  }

  /** The time range of every candidate of the set (pruned ones included): what recency is normalised over. */
  get timeRange(): TimeRange {
    const oldest = this.oldest.first;
    const newest = this.newest.first;
    return this.total === 0 || oldest === undefined || newest === undefined ? { oldest: 0, newest: 0 } : { oldest, newest };
  }

  get candidates(): Candidate<T>[] {
    const out: Candidate<T>[] = [];
    for (const slot of this.items.values()) out.push(slot.candidate);
    return out;
  }

  /** Null when ranking the kept candidates gives exactly the window of the whole set; otherwise why not. */
  exactness(): string | null {
    if (this.broken !== null) return this.broken;
    if (this.total < 0) return 'more candidates removed than the set held';
    if (this.total > 0 && (this.oldest.first === undefined || this.newest.first === undefined)) return 'the oldest or newest candidate time is no longer known';
    if (this.c() > this.cBound) return 'the time range narrowed below what pruning assumed';
    return null;
  }

  /** Recency weight per ms over the current time range (0 when all times are equal). */
  private c(): number {
    const { oldest, newest } = this.timeRange;
    const span = newest - oldest;
    return span > 0 ? SALIENCE_WEIGHTS.recency / span : 0;
  }

  private prune(): void {
    const c = this.c();
    const oldest = this.timeRange.oldest;
    const value = (x: Candidate<T>) => x.base + c * (x.time - oldest);
    const sorted = [...this.items.values()]
      .map((slot) => ({ slot, value: value(slot.candidate) }))
      .sort((a, b) => compareForPruning(a.slot.candidate, a.value, b.slot.candidate, b.value));
    const kept = new Map<string, Slot<T>>();
    const beaters = this.keep + this.margin;
    let group: string | null = null;
    let best = new TopValues(beaters);
    let latest = new TopValues(beaters);
    let onlyForSmallerC = false;
    for (const { slot, value: v } of sorted) {
      const item = slot.candidate;
      if (item.group !== group) {
        group = item.group;
        best = new TopValues(beaters);
        latest = new TopValues(beaters);
      }
      // Everything before x in its group has base ≥ base_x; `beaters` of them with value ≥ v beat x for every c ≤ this one,
      // and for every c at all if `beaters` of them are also at least as recent.
      if (best.full && best.min >= v) {
        if (!this.removedBeaters.has(group)) this.removedBeaters.set(group, 0);
        if (!(latest.full && latest.min >= item.time)) onlyForSmallerC = true;
        continue;
      }
      best.offer(v);
      latest.offer(item.time);
      kept.set(item.identity, slot);
    }
    this.items = kept;
    if (onlyForSmallerC) this.cBound = Math.min(this.cBound, c);
    this.lastPruneSeq = this.seq;
    this.pruneAt = Math.max(this.pruneFloor, 2 * kept.size);
  }
}

function compareForPruning<T>(a: Candidate<T>, va: number, b: Candidate<T>, vb: number): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  if (a.base !== b.base) return b.base - a.base;
  if (va !== vb) return vb - va;
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

/**
 * The most extreme times of a multiset (the smallest for sign 1, the largest for sign −1), with
 * who holds them: always some |list| most extreme members of the set, so the first is the extreme
 * while the list is not empty.
 */
class Extremes {
  /** Most extreme first. */
  private readonly list: { identity: string; key: number }[] = [];

  constructor(private readonly sign: 1 | -1) {}

  get first(): number | undefined {
    const head = this.list[0];
    return head === undefined ? undefined : this.sign * head.key;
  }

  /** A member joins a set of `total` members. */
  offer(identity: string, time: number, total: number): void {
    const key = this.sign * time;
    const list = this.list;
    const last = list[list.length - 1];
    const coversAll = list.length === total;
    if (!(coversAll ? list.length < EXTREMES || (last !== undefined && key < last.key) : last !== undefined && key < last.key)) return;
    let at = list.length;
    while (at > 0 && (list[at - 1] as { key: number }).key > key) at--;
    list.splice(at, 0, { identity, key });
    if (list.length > EXTREMES) list.pop();
  }

  remove(identity: string): void {
    const at = this.list.findIndex((e) => e.identity === identity);
    if (at >= 0) this.list.splice(at, 1);
  }
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
