/**
 * An exact cache of the context records of each tenant (sessions and access counts,
 * encoding/session-keys.ts), so that a context window does not read them from disk every time:
 * every window reads the access counts of its candidates and the session's last window, and writes
 * them back. Unlike the range cache, whose rows of a tenant go stale with every write, these
 * records are written through: a commit that writes them updates the cache with what it wrote
 * once the batch is on disk (the records stay durable: the batch is written as before).
 *
 * Exactness rests on the same invariant as range-cache.ts: the keyspace changes only in
 * `TenantStore.commit` and `TenantStore.clear`, both bracketed by `TenantRanges.writing()` /
 * `written()`, and anything else that drops what the store cached of the keyspace (a purge, a
 * commit of another process on shared storage) calls the same pair. Each record remembers the
 * sequence number of the tenant's context writes at which it was last set (`seq`); a reader
 * pinned at sequence P (its snapshot was taken in the same tick) uses a record only when
 * `record.seq <= P`, so a record written after its snapshot is read from the snapshot instead.
 * The records a commit in flight writes are not filled, nor used by readers pinned since it
 * began (their snapshot may or may not hold them), until it settles; the others stay exact meanwhile. While the whole keyspace is
 * written (a clear) nothing is used. A record read from disk is cached only when no context write
 * settled since the read began (the sequence did not move), so the value read is the current one.
 * Records absent from disk are cached as absent. A commit moves the sequence when it begins and
 * when it settles, and the record it replaced is kept for the readers pinned before it began.
 *
 * Memory: one cache per database, bounded in weight (an access count weighs 1, a session 1 per 256
 * characters of its JSON); past the bound the records set longest ago of the least recently used tenant go
 * first, and no tenant keeps more than a quarter of the bound.
 */
import { isContextKey } from '../encoding/session-keys.js';
import { type BatchOp, KeyspaceReader, type LevelSublevel } from './level-types.js';
import type { AbstractSnapshot } from 'abstract-level';

/** Weight the context records of one database may hold in all (about 100 bytes per unit). */
export const CONTEXT_CACHE_WEIGHT = 131_072;

interface CachedRecord {
  /** The stored value; undefined: known to be absent. */
  readonly value: string | undefined;
  readonly seq: number;
  /** Its weight, with that of `before`. */
  readonly weight: number;
  /**
   * The value the commit that set this one replaced, for the readers pinned before that commit
   * began (`until`, its sequence then): the snapshot of a window that overlaps the window of
   * another request on the tenant would otherwise read the records that window wrote from disk.
   */
  readonly before?: { readonly value: string | undefined; readonly seq: number; readonly until: number };
}

const weightOf = (value: string | undefined) => 1 + Math.floor((value?.length ?? 0) / 256);

/** The context records of every tenant of one database. */
export class ContextCache {
  /** Per tenant name, not per handle: a write through any handle of a tenant updates what every reader uses. */
  private readonly tenants = new Map<string, TenantContext>();
  /** Tenants holding records, least recently used first. */
  private readonly order = new Set<TenantContext>();
  private held = 0;

  constructor(readonly maxWeight: number) {}

  forTenant(tenant: string): TenantContext {
    let context = this.tenants.get(tenant);
    if (context === undefined) {
      context = new TenantContext(this);
      this.tenants.set(tenant, context);
    }
    return context;
  }

  /** Internal (tests): records and weight held. */
  get size(): { readonly records: number; readonly weight: number } {
    let records = 0;
    for (const context of this.order) records += context.records;
    return { records, weight: this.held };
  }

  /** A tenant's held weight changed by `delta`; it is the most recently used now. */
  touched(context: TenantContext, delta: number): void {
    this.held += delta;
    this.order.delete(context);
    if (context.records > 0) this.order.add(context);
    while (context.weight > this.maxWeight / 4) this.held -= context.evictOldest();
    for (const oldest of this.order) {
      if (this.held <= this.maxWeight) break;
      while (this.held > this.maxWeight && oldest.records > 0) this.held -= oldest.evictOldest();
      if (oldest.records === 0) this.order.delete(oldest);
    }
  }

  /** A tenant's records were used: it is the most recently used tenant. */
  used(context: TenantContext): void {
    this.order.delete(context);
    this.order.add(context);
  }

  forgotten(context: TenantContext, weight: number): void {
    this.held -= weight;
    this.order.delete(context);
  }
}

/** One tenant's context records, and the sequence of its context writes (see the module comment). */
export class TenantContext {
  private seq = 0;
  /** Writes of the whole keyspace in flight (a clear): no record is used or filled meanwhile. */
  private blocked = 0;
  /** Keys the commits in flight write: how many of them write each, and the sequence the first of them began at. */
  private readonly writingKeys = new Map<string, { count: number; readonly began: number }>();
  private readonly cached = new Map<string, CachedRecord>();
  /** The context ops of each commit in flight (commits of a tenant run one at a time; empty: none), and the sequence it began at. */
  private readonly pending: { readonly ops: readonly BatchOp[]; readonly began: number }[] = [];
  weight = 0;

  constructor(private readonly cache: ContextCache) {}

  get records(): number {
    return this.cached.size;
  }

  /** The sequence a reader starting now is pinned at; null while the whole keyspace is written. */
  pin(): number | null {
    return this.blocked === 0 ? this.seq : null;
  }

  /**
   * A reader of the keyspace whose context reads go through the cache: of a snapshot pinned at
   * `pinned` (null: taken while the keyspace was cleared, so it reads from disk only), or
   * of the current state ('live': pinned anew at each read).
   */
  reader(level: LevelSublevel, snapshot: AbstractSnapshot | null, pinned: number | 'live' | null): KeyspaceReader {
    return pinned === null ? new KeyspaceReader(level, snapshot) : new ContextKeyspace(level, snapshot, this, pinned);
  }

  /** The value as a reader pinned at `pinned` sees it ({ value }); null: read it from disk. */
  lookup(key: string, pinned: number | null): { readonly value: string | undefined } | null {
    const record = this.cached.get(key);
    if (record === undefined || pinned === null || this.blocked > 0) return null;
    // A snapshot that began before a commit of this record is not holding what the commit writes.
    const writing = this.writingKeys.get(key);
    if (writing !== undefined) return record.seq <= pinned && pinned < writing.began ? record : null;
    if (record.seq <= pinned) return record;
    const before = record.before;
    return before !== undefined && before.seq <= pinned && pinned < before.until ? before : null;
  }

  /** The tenant's records were read: it is the most recently used tenant. */
  used(): void {
    this.cache.used(this);
  }

  /** A value read from disk by a reader pinned at `pinned`: cached if it is still the current one. */
  fill(key: string, value: string | undefined, pinned: number | null): void {
    if (pinned === null || this.blocked > 0 || pinned !== this.seq || this.writingKeys.has(key)) return;
    this.set(key, value);
  }

  /** A commit is about to write `ops`: the context records among them (in this tenant's sublevel) are held until it settles. */
  writing(ops: readonly BatchOp[], sub: LevelSublevel): void {
    const context = ops.filter((op) => op.sublevel === sub && isContextKey(op.key));
    if (context.length > 0) this.seq++;
    this.pending.push({ ops: context, began: this.seq });
    for (const op of context) {
      const writing = this.writingKeys.get(op.key);
      if (writing === undefined) this.writingKeys.set(op.key, { count: 1, began: this.seq });
      else writing.count++;
    }
  }

  /** The whole keyspace is about to be written (cleared): nothing is used until `forget`. */
  block(): void {
    this.blocked++;
  }

  /** The commit begun last settled: written (its records are cached) or failed (it may or may not be on disk: forget all). */
  committed(written: boolean): void {
    const { ops, began } = this.pending.shift() ?? { ops: [], began: 0 };
    if (ops.length === 0) return;
    for (const op of ops) {
      const writing = this.writingKeys.get(op.key);
      if (writing !== undefined && --writing.count === 0) this.writingKeys.delete(op.key);
    }
    this.seq++;
    if (!written) return this.forget(false);
    for (const op of ops) this.set(op.key, op.type === 'put' ? op.value : undefined, began);
  }

  /** Forget every record (the keyspace was cleared or changed behind the cache); readers pinned before do not fill it again. */
  forget(unblock: boolean): void {
    if (unblock) this.blocked--;
    this.seq++;
    this.cached.clear();
    this.cache.forgotten(this, this.weight);
    this.weight = 0;
  }

  /** Remove the record set longest ago; its weight. */
  evictOldest(): number {
    for (const [key, record] of this.cached) {
      this.cached.delete(key);
      this.weight -= record.weight;
      return record.weight;
    }
    return 0;
  }

  /** `began`: set by a commit that began at that sequence (the value it replaced is kept for readers pinned before). */
  private set(key: string, value: string | undefined, began?: number): void {
    const old = this.cached.get(key);
    if (old !== undefined) this.cached.delete(key);
    const before = old === undefined || began === undefined ? undefined : { value: old.value, seq: old.seq, until: began };
    const weight = weightOf(value) + (before === undefined ? 0 : weightOf(before.value));
    const record: CachedRecord = before === undefined ? { value, seq: this.seq, weight } : { value, seq: this.seq, weight, before };
    this.cached.set(key, record);
    const delta = record.weight - (old?.weight ?? 0);
    this.weight += delta;
    this.cache.touched(this, delta);
  }
}

/** A keyspace reader whose reads of context records go through the tenant's cache (other keys go to disk). */
class ContextKeyspace extends KeyspaceReader {
  constructor(
    level: LevelSublevel,
    snapshot: AbstractSnapshot | null,
    private readonly context: TenantContext,
    /** The sequence of the snapshot; 'live': the current state, pinned anew at each read. */
    private readonly pinned: number | 'live',
  ) {
    super(level, snapshot);
  }

  private at(): number | null {
    return this.pinned === 'live' ? this.context.pin() : this.pinned;
  }

  override async get(key: string): Promise<string | undefined> {
    if (!isContextKey(key)) return super.get(key);
    const pinned = this.at();
    const record = this.context.lookup(key, pinned);
    this.context.used();
    if (record !== null) return record.value;
    const value = await super.get(key);
    this.context.fill(key, value, pinned);
    return value;
  }

  override async getMany(keys: string[]): Promise<(string | undefined)[]> {
    // The reads of a tell (facts, indexes) name no context record: straight to disk, nothing allocated.
    if (!keys.some(isContextKey)) return super.getMany(keys);
    const pinned = this.at();
    const values: (string | undefined)[] = new Array(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const record = isContextKey(key) ? this.context.lookup(key, pinned) : null;
      if (record === null) missing.push(i);
      else values[i] = record.value;
    });
    this.context.used();
    if (missing.length === 0) return values;
    const read = await super.getMany(missing.map((i) => keys[i] as string));
    missing.forEach((i, j) => {
      const key = keys[i] as string;
      values[i] = read[j];
      if (isContextKey(key)) this.context.fill(key, read[j], pinned);
    });
    return values;
  }
}
