/**
 * Stored facts of one atom pattern (predicate, arity, polarity, the atom's constants), read
 * through the FactSource port and kept in memory for the rest of the query.
 *
 * Every `match` is a store range scan with a fixed cost, so probing tuple by tuple is only right
 * for a few keys. Per batch of keys the relation decides: fetch each missing key (concurrently),
 * or read the whole pattern once and hash-index it, when the keys asked so far would cost more
 * than that (or the pattern is small anyway). Memory stays proportional to what was asked.
 */
import type { FactPattern, Term } from '../domain/fact.js';
import type { RunContext } from './context.js';
import type { FactSource } from './source.js';
import type { Access, IndexKey, Rec } from './table.js';
import { EMPTY, Indexes, TupleMap, maskPositions } from './table.js';

/** Patterns estimated at or below this are read whole on first use: one scan beats any probing. */
const SMALL_PATTERN = 256;
/** A keyed scan is assumed to cost as much as reading this many facts of a full scan. */
const SCAN_COST_IN_FACTS = 16;
/** Keyed scans in flight at once. */
const CONCURRENCY = 16;

export class StoredRelation implements Access {
  private all: Rec[] | null = null;
  private readonly allIndexes = new Indexes();
  private readonly fetched = new Map<number, Map<IndexKey, readonly Rec[]>>();
  private fetchedKeys = 0;
  private total: Promise<number> | null = null;
  /** Positions bound by the pattern's own constants. */
  readonly constantMask: number;

  constructor(
    private readonly source: FactSource,
    readonly pattern: FactPattern,
    private readonly context: RunContext,
  ) {
    this.constantMask = pattern.args.reduce<number>((mask, arg, i) => (arg === undefined ? mask : mask | (1 << i)), 0);
  }

  /** FactSource.estimate of the whole pattern (asked once). */
  estimate(): Promise<number> {
    this.total ??= (async () => {
      this.context.stats.estimateCalls += 1;
      const estimate = await this.source.estimate(this.pattern);
      // Only a planning hint: an unusable one means "large", which keeps probing goal-directed.
      return Number.isFinite(estimate) && estimate >= 0 ? estimate : Number.MAX_SAFE_INTEGER;
    })();
    return this.total;
  }

  async prepare(mask: number, keys: ReadonlyMap<IndexKey, readonly Term[]>): Promise<void> {
    if (this.all !== null) return;
    const cache = this.fetched.get(mask);
    const missing = [...keys].filter(([key]) => cache?.has(key) !== true);
    if (missing.length === 0) return;
    const total = await this.estimate();
    const probes = this.fetchedKeys + missing.length;
    if ((mask & ~this.constantMask) === 0 || total <= SMALL_PATTERN || probes * SCAN_COST_IN_FACTS > total) {
      await this.loadAll();
    } else {
      await this.fetchKeys(mask, missing);
    }
  }

  ready(): boolean {
    return this.all !== null;
  }

  buckets(mask: number): ReadonlyMap<IndexKey, readonly Rec[]> | null {
    return this.all === null ? null : this.allIndexes.get(mask, this.all);
  }

  lookup(mask: number, key: IndexKey): readonly Rec[] {
    if (this.all !== null) return mask === 0 ? this.all : (this.allIndexes.get(mask, this.all).get(key) ?? EMPTY);
    return this.fetched.get(mask)?.get(key) ?? EMPTY;
  }

  /** Every fact of the pattern (read once, then kept like any whole read). */
  async readAll(): Promise<readonly Rec[]> {
    if (this.all === null) await this.loadAll();
    return this.all!;
  }

  private async loadAll(): Promise<void> {
    this.all = await this.read(this.pattern);
    this.fetched.clear();
  }

  private async fetchKeys(mask: number, missing: readonly (readonly [IndexKey, readonly Term[]])[]): Promise<void> {
    let cache = this.fetched.get(mask);
    if (cache === undefined) this.fetched.set(mask, (cache = new Map()));
    const positions = maskPositions(mask);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length) {
        const [key, values] = missing[next++]!;
        const args: (Term | undefined)[] = new Array<Term | undefined>(this.pattern.args.length).fill(undefined);
        positions.forEach((position, i) => (args[position] = values[i]));
        cache.set(key, await this.read({ ...this.pattern, args }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, worker));
    this.fetchedKeys += missing.length;
  }

  /** One range scan; a tuple stored in several scopes comes back once (with its first ref). */
  private async read(pattern: FactPattern): Promise<Rec[]> {
    await this.context.pace();
    this.context.stats.matchCalls += 1;
    const seen = new TupleMap<true>(pattern.args.length);
    const recs: Rec[] = [];
    let read = 0;
    for await (const fact of this.source.match(pattern)) {
      // Sources may answer from memory without ever reaching the event loop: pace here too.
      if (++read % 1024 === 0) {
        this.context.read(1024);
        await this.context.pace();
      }
      if (seen.get(fact.args) !== undefined) continue;
      seen.getOrAdd(fact.args, true);
      recs.push({ args: fact.args, round: 0, ref: fact.ref, origin: null });
    }
    this.context.read(read % 1024);
    this.context.stats.storedFactsRead += recs.length;
    return recs;
  }
}
