/**
 * Tuples as the evaluator holds them, and the in-memory relation ("table") that semi-naive
 * evaluation fills round by round.
 *
 * A table keeps every tuple once (keyed by a canonical string: JSON keeps 30 and "30" apart), in
 * commit order, with the round it was committed in. Derivations of the running round are pending
 * and invisible until `commit`, which is what makes "old", "delta" and "full" views exact and
 * makes every recorded derivation use only premises from earlier rounds (so proofs are finite).
 */
import type { Term } from '../domain/fact.js';
import type { IRule } from './irule.js';

/** How a derived tuple was first obtained: the instance rule and its row (values, then premises). */
export interface Derivation {
  readonly rule: IRule | null;
  readonly row: readonly unknown[] | null;
}

/** Marks a derived tuple whose derivation is not kept (no proof asked) or a demand seed. */
export const UNRECORDED: Derivation = Object.freeze({ rule: null, row: null });

export interface Rec {
  readonly args: readonly Term[];
  /** Round of the commit that made it visible (0 for stored facts). */
  round: number;
  /** The SourceFact.ref of a stored fact. */
  ref: unknown;
  /** null: a stored fact; otherwise how it was derived. A derivation is replaced by "stored" if both hold. */
  origin: Derivation | null;
}

/** Key of an index bucket: the bound values themselves when one position is bound, else their JSON. */
export type IndexKey = Term;

export function keyOf(values: readonly Term[]): IndexKey {
  return values.length === 1 ? values[0]! : JSON.stringify(values);
}

/** Bound positions as a bit set (arity ≤ 16). */
export function maskPositions(mask: number): number[] {
  const positions: number[] = [];
  for (let position = 0; mask >> position !== 0; position++) if ((mask >> position) & 1) positions.push(position);
  return positions;
}

export function valuesAt(args: readonly Term[], positions: readonly number[]): Term[] {
  return positions.map((position) => args[position]!);
}

export const EMPTY: readonly Rec[] = Object.freeze([]);

/** Something a join can look tuples up in: a table, stored facts, or another instance's answers. */
export interface Access {
  /** Async loading before lookups of these keys (index key → bound values of `mask`, in position order). */
  prepare?(mask: number, keys: ReadonlyMap<IndexKey, readonly Term[]>): Promise<void>;
  /** True when every lookup can be answered without `prepare` (saves collecting keys). */
  ready?(): boolean;
  lookup(mask: number, key: IndexKey): readonly Rec[];
  /** The whole index for `mask` (≠ 0) when it is complete, so hot loops can skip the indirections. */
  buckets?(mask: number): ReadonlyMap<IndexKey, readonly Rec[]> | null;
}

interface MaskIndex {
  readonly positions: readonly number[];
  readonly buckets: Map<IndexKey, Rec[]>;
}

/** Builds bucket maps lazily, one per mask, over an append-only list of records. */
export class Indexes {
  private readonly byMask = new Map<number, MaskIndex>();

  get(mask: number, recs: readonly Rec[]): Map<IndexKey, Rec[]> {
    let index = this.byMask.get(mask);
    if (index === undefined) {
      index = { positions: maskPositions(mask), buckets: new Map() };
      for (const rec of recs) Indexes.insert(index, rec);
      this.byMask.set(mask, index);
    }
    return index.buckets;
  }

  /** Keeps every built index up to date with a newly visible record. */
  append(rec: Rec): void {
    for (const index of this.byMask.values()) Indexes.insert(index, rec);
  }

  private static insert({ positions, buckets }: MaskIndex, rec: Rec): void {
    const key = positions.length === 1 ? rec.args[positions[0]!]! : keyOf(valuesAt(rec.args, positions));
    const bucket = buckets.get(key);
    if (bucket === undefined) buckets.set(key, [rec]);
    else bucket.push(rec);
  }
}

/**
 * Tuples → values, as a trie of Maps keyed by the terms themselves: no key strings to build or
 * hash (Map keys compare by SameValueZero, so 30 and "30" stay apart).
 */
export class TupleMap<V> {
  private readonly root = new Map<Term, unknown>();
  private zeroAry: V | undefined;

  constructor(private readonly arity: number) {}

  get(args: readonly Term[]): V | undefined {
    return this.arity === 0 ? this.zeroAry : (this.leaf(args, false)?.get(args[this.arity - 1]!) as V | undefined);
  }

  /** Stores `value` under `args` unless a value is there; returns the value now stored. */
  getOrAdd(args: readonly Term[], value: V): V {
    if (this.arity === 0) return (this.zeroAry ??= value);
    const leaf = this.leaf(args, true)!;
    const last = args[this.arity - 1]!;
    const known = leaf.get(last) as V | undefined;
    if (known !== undefined) return known;
    leaf.set(last, value);
    return value;
  }

  /** The map holding the last position of `args` (created on the way when `create`). */
  leaf(args: readonly Term[], create: boolean): Map<Term, unknown> | undefined {
    let node = this.root;
    for (let i = 0; i < this.arity - 1; i++) {
      let child = node.get(args[i]!) as Map<Term, unknown> | undefined;
      if (child === undefined) {
        if (!create) return undefined;
        node.set(args[i]!, (child = new Map()));
      }
      node = child;
    }
    return node;
  }
}

export class Table implements Access {
  /** Committed records in commit order (so rounds never decrease along it or along any bucket). */
  readonly recs: Rec[] = [];
  private readonly byTuple: TupleMap<Rec>;
  private pending: Rec[] = [];
  private firstDelta = 0;
  private readonly indexes = new Indexes();

  constructor(
    readonly name: string,
    readonly arity: number,
  ) {
    this.byTuple = new TupleMap(arity);
  }

  get size(): number {
    return this.recs.length + this.pending.length;
  }

  /**
   * Adds a tuple for the next commit and returns its record; null if already known (a stored
   * origin still wins). `args` is copied when kept, so callers may pass a reused array.
   */
  add(args: readonly Term[], origin: Derivation | null, ref?: unknown): Rec | null {
    const arity = this.arity;
    const leaf = arity === 0 ? null : this.byTuple.leaf(args, true)!;
    const last = args[arity - 1]!;
    const known = leaf === null ? this.byTuple.get(args) : (leaf.get(last) as Rec | undefined);
    if (known === undefined) {
      const rec: Rec = { args: args.slice(), round: -1, ref, origin };
      if (leaf === null) this.byTuple.getOrAdd(rec.args, rec);
      else leaf.set(last, rec);
      this.pending.push(rec);
      return rec;
    }
    if (origin === null && known.origin !== null) {
      known.origin = null;
      known.ref = ref;
    }
    return null;
  }

  has(args: readonly Term[]): boolean {
    return this.byTuple.get(args) !== undefined;
  }

  /**
   * Makes pending tuples visible as the delta of `round`; returns how many there were. A large
   * delta is committed in chunks with `pacer.pace()` between them (nothing reads the table meanwhile:
   * an evaluation is one sequence of steps).
   */
  async commit(round: number, pacer: { pace(): Promise<void> }): Promise<number> {
    this.firstDelta = this.recs.length;
    const added = this.pending;
    this.pending = [];
    for (let i = 0; i < added.length; i++) {
      const rec = added[i]!;
      rec.round = round;
      this.recs.push(rec);
      this.indexes.append(rec);
      if ((i & 4095) === 4095) await pacer.pace();
    }
    return added.length;
  }

  /** Index of the first record of the current delta in `recs`. */
  get deltaStart(): number {
    return this.firstDelta;
  }

  hasDelta(): boolean {
    return this.firstDelta < this.recs.length;
  }

  lookup(mask: number, key: IndexKey): readonly Rec[] {
    if (mask === 0) return this.recs;
    return this.indexes.get(mask, this.recs).get(key) ?? EMPTY;
  }

  buckets(mask: number): ReadonlyMap<IndexKey, readonly Rec[]> {
    return this.indexes.get(mask, this.recs);
  }
}
