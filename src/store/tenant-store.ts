import { EventEmitter } from 'node:events';
import { ConflictError } from '../domain/errors.js';
import type { FactInput, FactPattern, FactRecord, StoredFact, Term } from '../domain/fact.js';
import { retiredLayerRange, tenantStampKey } from '../encoding/control-keys.js';
import { EventLog } from './event-log.js';
import { retractFacts, tellFacts } from './fact-writes.js';
import { allIndexRange, isPrimaryIndexKey, presenceKeyOfPrimary } from '../encoding/fact-keys.js';
import { KeyFilter } from './key-filter.js';
import { type BatchOp, KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';
import type { TenantRanges } from './range-cache.js';
import { type ScopeRecord, ScopeRegistry } from './scope-registry.js';
import { TenantReads } from './tenant-reads.js';
import type { VectorSource } from './retrieval-reader.js';
import { RetrievalIndexState } from './retrieval-backfill.js';
import { LayerStatsCache } from './retrieval-writes.js';
import { type RetiredLayer, TenantTransaction } from './transaction.js';
import { WriteLock } from './write-lock.js';
import { VectorCache } from './vector-cache.js';
import type { TenantHost } from './tenant-host.js';
import { type QueuedTell, type TellOutcome, type TellQuota, TellQueue, checkQuota } from './tell-queue.js';
import { nextStamp } from './shared-stamps.js';

export type { TenantHost } from './tenant-host.js';
export type { TellQuota } from './tell-queue.js';

interface TransactionOptions {
  /** False for maintenance (collecting retired layers): it never brings a tenant into existence. */
  readonly registers?: boolean;
  /** False for maintenance and after the check: no wait on an import into the tenant (TenantHost.settleImport). */
  readonly settles?: boolean;
}

/**
 * The facts and scopes of one tenant: a sublevel of its database. Two doors only:
 * - `transaction(now, tx => …)` changes the tenant: one at a time (under the tenant's lock), on a
 *   draft of the scopes, committed as one atomic batch; a throw anywhere leaves nothing behind.
 * - `read(now, r => …)` reads it through one explicit snapshot and the scopes of that moment, so a
 *   request that reads many times sees one state.
 * Layers that a scope change retired keep their keys until no reader pinned to an older state is
 * open (reference counts per installed state), then are collected in the background.
 */
export class TenantStore {
  private registry: ScopeRegistry | null = null;
  private loading: Promise<ScopeRegistry> | null = null;
  private generation = 0;
  /** Set when the tenant is deleted: commits through this handle are refused (see retire()). */
  private deleted = false;
  private epochs = 0;
  private readonly lock = new WriteLock();
  /** Open readers per epoch (installed state of the scopes) they read. */
  private readonly readers = new Map<number, number>();
  /** Retired layers, with the last epoch whose scopes still used them. */
  private retired: { readonly epoch: number; readonly layers: readonly RetiredLayer[] }[] = [];
  private collecting = false;
  private readonly current: KeyspaceReader;
  /** Every write of the keyspace is bracketed by it (the cache's exactness rests on that). */
  private readonly ranges: TenantRanges | null;
  /** Tells waiting for the lock: they go into one batch together. */
  private readonly tells = new TellQueue((take, now) => this.tellBatch(take, now));
  /** Facts the tenant may hold (null until built: then every write reads first). */
  private keyFilter: KeyFilter | null = null;
  /** The filter being built by a scan of the tenant; writes meanwhile are added to it too. */
  private buildingFilter: KeyFilter | null = null;
  readonly events: EventLog;
  /** Layer statistics of the retrieval indexes as the last commit left them (a tell of new facts then reads nothing). */
  private readonly layerStats = new LayerStatsCache();
  /** Decoded embeddings per layer (vector search), kept exact by the commits, and their approximate indexes. */
  private readonly vectorCache: VectorCache;
  private readonly vectorSource: VectorSource;
  /** Whether the retrieval indexes are known to cover every fact (the marker was seen or written). */
  private readonly retrievalIndex = new RetrievalIndexState();
  /** Emits 'cleared' when the tenant's keyspace was cleared (the tenant was deleted), 'changed-elsewhere' when catchUp found another process's commit. */
  readonly lifecycle = new EventEmitter();
  /** Shared storage: the tenant stamp this handle's caches reflect (see catchUp). */
  private knownStamp: string | undefined;

  constructor(
    private readonly host: TenantHost,
    readonly name: string,
    private readonly sub: LevelSublevel,
  ) {
    this.events = new EventLog(sub, host.meta, name, host.eventFloor);
    this.ranges = host.ranges?.(name) ?? null;
    // Transactions read the context records (sessions, access counts) through their cache; under the lock it is the current state.
    this.current = this.ranges?.context.reader(sub, null, 'live') ?? new KeyspaceReader(sub);
    this.vectorCache = VectorCache.forTenant(host.vectorIndexes ?? null, host.database, name, host.background);
    this.vectorSource = this.vectorCache.source(this.current);
  }

  get database(): string {
    return this.host.database;
  }

  /** The scopes as last committed (never changed in place), loaded once for concurrent callers; a load older than a drop never installs. */
  async scopes(now: number): Promise<ScopeRegistry> {
    if (this.registry) return this.registry;
    if (!this.loading) {
      const generation = this.generation;
      this.loading = ScopeRegistry.load(this.sub, now).finally(() => {
        if (generation === this.generation) this.loading = null;
      });
    }
    const generation = this.generation;
    const loaded = await this.loading;
    if (generation !== this.generation) return this.scopes(now);
    if (!this.registry) this.install(loaded);
    return this.registry ?? loaded;
  }

  private install(registry: ScopeRegistry): void {
    registry.epoch = ++this.epochs;
    this.registry = registry;
  }

  /** Drop the cached scopes (and any load in flight): the next caller reads them from disk. */
  private dropScopes(): void {
    this.registry = null;
    this.loading = null;
    this.generation++;
  }

  /** Read the tenant through one snapshot; everything read must be read before `work` settles. */
  async read<T>(now: number, work: (reader: TenantReads) => Promise<T>): Promise<T> {
    // Null (no await) unless another process's import into the tenant is known.
    const settling = this.host.settleImport?.(this.name);
    if (settling) await settling;
    if (this.host.shared) await this.catchUp();
    let registry = this.registry;
    while (registry === null) {
      await this.scopes(now);
      registry = this.registry;
    }
    // Same tick: the snapshot and the scopes belong together, and the pin keeps retired layers.
    const snapshot = this.host.snapshot();
    // Without a snapshot each read sees whatever is current: no stamp can describe that.
    const cached = snapshot === null ? null : (this.ranges?.pin() ?? null);
    const epoch = registry.epoch;
    this.readers.set(epoch, (this.readers.get(epoch) ?? 0) + 1);
    try {
      const keyspace = snapshot === null ? new KeyspaceReader(this.sub) : (this.ranges?.keyspace(this.sub, snapshot) ?? new KeyspaceReader(this.sub, snapshot));
      return await work(new TenantReads(keyspace, registry, cached, this.vectorSource));
    } finally {
      const left = (this.readers.get(epoch) ?? 1) - 1;
      if (left === 0) this.readers.delete(epoch);
      else this.readers.set(epoch, left);
      await snapshot?.close();
      this.collectWhenFree();
    }
  }

  /** A read of the range cache alone, at once (no snapshot: `work` reads nothing else, synchronously); undefined: use `read`. */
  readCachedNow<T>(work: (reader: TenantReads) => T | undefined): T | undefined {
    if (this.host.shared || this.registry === null || this.host.settleImport?.(this.name)) return undefined;
    const cached = this.ranges?.pin() ?? null;
    if (cached === null) return undefined;
    return work(new TenantReads(new KeyspaceReader(this.sub, null), this.registry, cached, this.vectorSource));
  }

  /** The only way to change the tenant (see the class comment). */
  transaction<T>(now: number, work: (tx: TenantTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // Null (no await: tells pay nothing) unless another process's import into the tenant is known.
    const settling = options.settles === false ? null : (this.host.settleImport?.(this.name) ?? null);
    if (settling !== null) return settling.then(() => this.transaction(now, work, { ...options, settles: false }));
    return this.lock.run(() => this.host.exclusive(this.name, async () => {
      await this.catchUp();
      const base = await this.scopes(now);
      const tx = new TenantTransaction(this.current, base.draft(), now, this.sub, this.host.meta, this.name);
      const result = await work(tx);
      await this.commit(tx, base, options.registers ?? true);
      return result;
    }));
  }

  /**
   * Shared storage: another process may have committed to the tenant since this handle last looked.
   * One point read of the tenant's stamp; when it moved, everything cached from the keyspace (scopes,
   * ranges, event counter, vectors, the retrieval marker) is dropped and read again. Inside a
   * transaction it runs under the cross-process lock, so what the checks read is the latest state;
   * before a read it runs before the snapshot is taken, so a write acknowledged before the request
   * began is seen (one committed between the two may be half seen through the range cache: reads
   * racing a write of another process see it or not, as reads racing a write anywhere).
   */
  async catchUp(): Promise<void> {
    if (!this.host.shared) return;
    const stamp = await this.host.meta.get(tenantStampKey(this.name));
    if (stamp === this.knownStamp) return;
    this.knownStamp = stamp;
    this.forgetKeyspace();
    this.lifecycle.emit('changed-elsewhere');
    await this.host.changedElsewhere?.(this.name);
  }

  private forgetKeyspace(): void {
    this.ranges?.writing();
    this.ranges?.written();
    this.dropScopes();
    this.events.reset();
    this.vectorCache.clear();
    this.layerStats.clear(); // another process's commit changed them
    this.retrievalIndex.reset();
  }

  private async commit(tx: TenantTransaction, base: ScopeRegistry, registers: boolean): Promise<void> {
    // A request that took this handle before the tenant was deleted must not write into the
    // tenant re-created under the same name (its caller was authorised for the old one).
    if (this.deleted) throw new ConflictError(`tenant '${this.name}' was deleted while this request ran`, { tenant: this.name });
    await tx.settle(this.layerStats);
    const { ops, events: drafts, retired, written, vectors, stats } = tx.collected();
    if (ops.length === 0 && drafts.length === 0 && !tx.scopes.isChanged) return;
    const logged = await this.events.append(drafts, tx.now);
    const registration = registers ? this.host.registrationOps(this.name) : [];
    const stamp = this.host.shared ? nextStamp() : null;
    const stamped: BatchOp[] = stamp === null ? [] : [{ type: 'put', key: tenantStampKey(this.name), value: stamp, sublevel: this.host.meta }];
    const batch = [...registration, ...tx.scopes.flush(), ...ops, ...logged.ops, ...stamped];
    this.ranges?.writing({ ops: batch, sub: this.sub });
    try {
      await this.host.write(batch);
    } catch (error) {
      this.ranges?.written(false);
      this.events.reset();
      this.layerStats.clear(); // the batch may or may not be on disk: read them again
      throw error;
    }
    this.ranges?.written(true);
    this.layerStats.learn(stats);
    if (registers) this.host.registered(this.name);
    // Under the cross-process lock, after catchUp: no other process committed in between.
    if (stamp !== null) this.knownStamp = stamp;
    for (const key of written) {
      this.keyFilter?.add(key);
      this.buildingFilter?.add(key);
    }
    this.vectorCache.apply(vectors);
    for (const layer of retired) this.vectorCache.drop(layer.layer);
    this.events.committed(logged.events);
    this.generation++;
    this.loading = null;
    this.install(tx.scopes);
    if (retired.length > 0) {
      this.retired.push({ epoch: base.epoch, layers: retired });
      this.collectWhenFree();
    }
    this.events.publish(logged.events);
  }

  /** Collect the retired layers no open reader can need, in the background. */
  private collectWhenFree(): void {
    if (this.collecting || this.retired.length === 0) return;
    const oldest = Math.min(...this.readers.keys());
    const ready = this.retired.filter((r) => r.epoch < oldest);
    if (ready.length === 0) return;
    this.collecting = true;
    const started = this.host.background.run('collect-layers', { database: this.host.database, tenant: this.name }, async () => {
      try {
        await this.collect(ready.flatMap((r) => r.layers));
        this.retired = this.retired.filter((r) => !ready.includes(r));
      } finally {
        this.collecting = false;
        this.collectWhenFree();
      }
    });
    if (!started) this.collecting = false; // shutting down: the journal has them for the next open
  }

  /** Remove the keys of retired layers (and their journal entries) in one batch. */
  async collect(layers: readonly RetiredLayer[]): Promise<void> {
    await this.transaction(
      Date.now(),
      async (tx) => {
        for (const layer of layers) await tx.dropRetired(layer);
      },
      { registers: false, settles: false },
    );
    for (const layer of layers) this.vectorCache.drop(layer.layer);
  }

  /** Nothing uses the handle now: no transaction, reader, change stream or collection pending (it may be dropped from the cache). */
  get isIdle(): boolean {
    return this.lock.idle && this.readers.size === 0 && !this.events.hasSubscribers && this.retired.length === 0 && !this.collecting;
  }

  /** Store facts (upserts), all or nothing. Telling p while NOT p holds in that scope is a conflict. */
  tell(facts: readonly FactInput[], now: number, actor: string | null = null, quota: TellQuota | null = null): Promise<StoredFact[]> {
    this.buildKeyFilter();
    return this.tells.push(facts, now, actor, quota);
  }

  /** One batch of queued tells (tell-queue.ts), each behind a savepoint: a refused tell leaves no trace, the others stand. */
  private async tellBatch(take: () => QueuedTell[], now: number): Promise<Map<QueuedTell, TellOutcome>> {
    const outcomes = new Map<QueuedTell, TellOutcome>();
    await this.transaction(now, async (tx) => {
      const batch = take();
      const filter = this.keyFilter;
      const mayExist = filter === null ? () => true : (presence: string) => filter.mightContain(presence);
      if (filter !== null) tx.absent = (presence) => !filter.mightContain(presence);
      const pending = new Map<string, FactRecord | null>();
      for (const queued of batch) {
        const point = batch.length > 1 ? tx.savepoint() : null; // a lone tell that fails throws the transaction away
        const before = { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes };
        try {
          const stored = await tellFacts(tx, this.current, queued.facts, queued.actor, mayExist, queued.now, pending);
          if (queued.quota) checkQuota(queued.quota, before, { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes });
          outcomes.set(queued, { stored });
        } catch (error) {
          if (point === null) throw error;
          tx.rollback(point);
          outcomes.set(queued, { error });
        }
      }
    });
    return outcomes;
  }

  /**
   * Tell inside a transaction of the caller (a client transaction's commit): `pending` carries
   * what earlier steps of that transaction wrote or retracted, so each step sees the ones before it.
   */
  tellWithin(tx: TenantTransaction, facts: readonly FactInput[], actor: string | null, pending: Map<string, FactRecord | null>): Promise<StoredFact[]> {
    return tellFacts(tx, this.current, facts, actor, () => true, tx.now, pending);
  }

  /** Build the key filter once, in the background, from the tenant's primary index entries. */
  private buildKeyFilter(): void {
    // Shared storage: other processes add facts this process's filter would never learn; every write reads.
    if (this.host.shared) return;
    if (this.keyFilter !== null || this.buildingFilter !== null) return;
    const filter = new KeyFilter();
    this.buildingFilter = filter;
    const started = this.host.background.run('build-key-filter', { database: this.host.database, tenant: this.name }, async () => {
      try {
        for await (const [raw] of scanRange(this.current, allIndexRange())) if (isPrimaryIndexKey(raw)) filter.add(presenceKeyOfPrimary(raw));
        if (this.buildingFilter === filter) this.keyFilter = filter;
      } finally {
        if (this.buildingFilter === filter) this.buildingFilter = null;
      }
    });
    if (!started) this.buildingFilter = null;
  }

  /** Retract the facts matching a pattern in one scope, or in every scope where they are visible. */
  async retract(
    scope: string | null,
    pattern: FactPattern,
    now: number,
    accepts: (args: readonly Term[]) => boolean = () => true,
    actor: string | null = null,
  ): Promise<number> {
    return (await this.transaction(now, (tx) => retractFacts(tx, scope, pattern, accepts, actor))).length;
  }

  /** Every stored fact in the retrieval indexes (a tenant from before them is indexed once: RetrievalIndexState). */
  ensureRetrievalIndex(now: number): Promise<void> {
    return this.retrievalIndex.ensure(this.current, (work) => this.transaction(now, work));
  }

  /**
   * A transaction that erases data (purge): afterwards every cache built from the keyspace (scopes,
   * ranges, vectors, layer statistics, event counter) is dropped and read again. The key filter
   * keeps the erased facts as false positives, which only costs a read.
   */
  async erase<T>(now: number, work: (tx: TenantTransaction) => Promise<T>): Promise<T> {
    try {
      return await this.transaction(now, work, { registers: false });
    } finally {
      await this.lock.run(async () => this.forgetKeyspace());
    }
  }

  /** The tenant was deleted: writes still queued on this handle fail; the next request gets a new handle. */
  retire(): void {
    this.deleted = true;
  }

  /** Remove every key of the tenant (its deletion) and forget cached state; the event counter stays. */
  async clear(): Promise<void> {
    await this.lock.run(() => this.host.exclusive(this.name, async () => {
      this.ranges?.writing();
      try {
        await this.sub.clear();
      } finally {
        this.ranges?.written();
      }
      await this.host.meta.clear(retiredLayerRange(this.name));
      // Other processes drop what they cached of the tenant at their next request.
      if (this.host.shared) await this.host.meta.put(tenantStampKey(this.name), nextStamp());
      this.dropScopes();
      this.events.reset();
      this.retired = [];
      this.keyFilter = this.host.shared ? null : new KeyFilter(); // the tenant is empty now
      this.retrievalIndex.reset();
      this.vectorCache.clear();
      this.layerStats.clear();
      this.buildingFilter = null;
      this.lifecycle.emit('cleared');
    }));
  }
}

export type { ScopeRecord, TenantReads, TenantTransaction };
