/**
 * An exact cache of small index range reads, so that a repeated point read (the hot path of
 * `/ask`) is answered without an iterator and its round trip through libuv's thread pool.
 *
 * Exactness rests on one invariant: a tenant's keyspace changes only inside `TenantStore.commit`
 * and `TenantStore.clear`, and both bracket their write with `writing()` / `written()`. Each
 * bracket moves the tenant's stamp, so every state of the keyspace has a stamp of its own and no
 * stamp is handed out while a write is in flight. A reader takes the stamp in the same tick as its
 * snapshot (TenantStore.read), so rows cached under that stamp are exactly what its snapshot holds;
 * rows are cached under the stamp of the snapshot they were read from. A reader that took its
 * snapshot during a write gets no cache at all. Nothing else writes a tenant's keyspace while the
 * server runs (the scopes, the key filter and the tell queue already rely on that), so no commit
 * anywhere (a tell, a retraction, a fork, a merge, a flatten, a collection of retired layers, a
 * context session's write) can leave a stale row readable. Rules live outside the tenant's keyspace
 * and are not cached here: derived answers are computed from these rows each time.
 *
 * Only raw [key, value] rows are kept, never resolved facts: visibility in time (ttl, validity) and
 * the scope chains are applied on every read, as for rows from disk.
 */

import type { AbstractSnapshot } from 'abstract-level';
import { CONTEXT_CACHE_WEIGHT, ContextCache, type TenantContext } from './context-cache.js';
import { type BatchOp, type KeyspaceReader, type LevelSublevel } from './level-types.js';

/** Rows of one range read for a pattern: cached only when the whole range is at most this many rows. */
export const MAX_CACHED_RANGE_ROWS = 64;

/**
 * Rows of a whole rotation of a predicate (every fact of the predicate, in the order of one index
 * rotation) read ahead on a miss, at most: one round trip then serves every point read of a small
 * predicate. A larger rotation is remembered as such (under the same stamp), so that it costs one
 * read-ahead attempt per state, not one per miss.
 */
export const READ_AHEAD_ROWS = 256;

export type Row = readonly [string, string];

/** Rows, or `'large'`: the range has more rows than were allowed to be read ahead. */
export type Cached = readonly Row[] | 'large';

interface Entry {
  readonly owner: TenantRanges;
  readonly stamp: number;
  readonly rows: Cached;
}

const weightOf = (rows: Cached) => (rows === 'large' ? 1 : Math.max(rows.length, 1));

/** The rows cached for every tenant of one database, least recently used first, at most `maxRows` rows in all. */
export class RangeCache {
  private readonly entries = new Map<string, Entry>();
  /** Per tenant name, not per handle: a write through any handle of a tenant moves the stamp every reader checks. */
  private readonly tenants = new Map<string, TenantRanges>();
  private rows = 0;
  /** The tenants' context records (context-cache.ts), written through by the same brackets. */
  readonly contexts = new ContextCache(CONTEXT_CACHE_WEIGHT);

  constructor(readonly maxRows: number) {}

  /** The ranges of one tenant (one per name, made on first use). */
  forTenant(tenant: string): TenantRanges {
    let ranges = this.tenants.get(tenant);
    if (ranges === undefined) {
      ranges = new TenantRanges(this, tenant, this.contexts.forTenant(tenant));
      this.tenants.set(tenant, ranges);
    }
    return ranges;
  }

  /** Internal (tests): ranges and rows held. */
  get size(): { readonly ranges: number; readonly rows: number } {
    return { ranges: this.entries.size, rows: this.rows };
  }

  get(key: string, owner: TenantRanges, stamp: number): Cached | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.owner !== owner || entry.stamp !== stamp) {
      // Another state of the tenant (or a handle dropped since): a reader of the current state replaces it.
      if (owner.isCurrent(stamp)) this.remove(key, entry);
      return undefined;
    }
    this.entries.delete(key); // most recently used last
    this.entries.set(key, entry);
    return entry.rows;
  }

  put(key: string, owner: TenantRanges, stamp: number, rows: Cached): void {
    if (this.maxRows <= 0 || (rows !== 'large' && rows.length > READ_AHEAD_ROWS)) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    this.entries.set(key, { owner, stamp, rows });
    this.rows += weightOf(rows);
    for (const [oldest, entry] of this.entries) {
      if (this.rows <= this.maxRows) break;
      this.remove(oldest, entry);
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.rows -= weightOf(entry.rows);
  }
}

/** One tenant's share of the cache, and its stamp (see the module comment). */
export class TenantRanges {
  private stamp = 0;
  private inFlight = 0;
  private readonly prefix: string;

  constructor(
    private readonly cache: RangeCache,
    tenant: string,
    /** The tenant's context records, kept through writes rather than dropped (context-cache.ts). */
    readonly context: TenantContext,
  ) {
    this.prefix = `${tenant.length}:${tenant}`;
  }

  /**
   * A write of the tenant's keyspace is about to start: no reader from now on sees the cache of
   * the old state. A commit names its ops (in the tenant's sublevel `sub`), so that the context
   * records it writes are cached once it is written; anything else forgets them.
   */
  writing(commit?: { readonly ops: readonly BatchOp[]; readonly sub: LevelSublevel }): void {
    this.inFlight++;
    this.stamp++;
    if (commit === undefined) this.context.block();
    else this.context.writing(commit.ops, commit.sub);
  }

  /** The write settled: readers from now on start on a new stamp. `committed`: whether a commit's batch was written (absent: not a commit). */
  written(committed?: boolean): void {
    this.inFlight--;
    this.stamp++;
    if (committed === undefined) this.context.forget(true);
    else this.context.committed(committed);
  }

  isCurrent(stamp: number): boolean {
    return this.inFlight === 0 && stamp === this.stamp;
  }

  /** The cached reads of a snapshot taken in this tick; null while a write is in flight. */
  pin(): PinnedRanges | null {
    return this.inFlight === 0 && this.cache.maxRows > 0 ? new PinnedRanges(this, this.stamp) : null;
  }

  /**
   * The reader of a snapshot taken in this tick, its context records read through their cache
   * (which, unlike the rows, stays usable while a commit is in flight: see context-cache.ts).
   */
  keyspace(level: LevelSublevel, snapshot: AbstractSnapshot): KeyspaceReader {
    return this.context.reader(level, snapshot, this.context.pin());
  }

  key(gte: string, lt: string): string {
    return `${this.prefix}${gte.length}:${gte}${lt}`;
  }

  get(key: string, stamp: number): Cached | undefined {
    return this.cache.get(key, this, stamp);
  }

  put(key: string, stamp: number, rows: Cached): void {
    // A reader of an older state may still read; it does not fill the cache for the readers to come.
    if (this.isCurrent(stamp)) this.cache.put(key, this, stamp, rows);
  }
}

/** The cache as one snapshot of a tenant sees it. */
export class PinnedRanges {
  constructor(
    private readonly ranges: TenantRanges,
    private readonly stamp: number,
  ) {}

  get(gte: string, lt: string): Cached | undefined {
    return this.ranges.get(this.ranges.key(gte, lt), this.stamp);
  }

  put(gte: string, lt: string, rows: Cached): void {
    this.ranges.put(this.ranges.key(gte, lt), this.stamp, rows);
  }
}
