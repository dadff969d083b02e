import { RETRIEVAL_MARKER_KEY } from '../encoding/retrieval-keys.js';
import { EventEmitter } from 'node:events';
import { VesperError } from '../domain/errors.js';
import {
  DATABASE_INCARNATION_KEY,
  DATABASE_STAMP_KEY,
  META_SUBLEVEL,
  tenantFromRegistryKey,
  tenantRegistryKey,
  tenantStampKey,
  tenantRegistryRange,
} from '../encoding/control-keys.js';
import { BackgroundRunner } from './background.js';
import { BatchWriter, type Durability } from './batch-writer.js';
import { type BatchOp, KeyspaceReader, type LevelDb, type LevelSublevel, SYNC, scanRange } from './level-types.js';
import { RangeCache } from './range-cache.js';
import type { VectorIndexes } from './vector-index.js';
import type { DatabaseOptions, TenantHandleLimits } from './tenant-host.js';
import { type RuleRecord, delRuleOp, loadRules, putRuleOp } from './rule-records.js';
import { type SettingsRecord, loadSettings, putSettingsOp } from './settings-records.js';
import { type UsageRecord, loadUsage, putUsageOp, scanUsage } from './usage-records.js';
import { type TenantHost, TenantStore } from './tenant-store.js';
import { checkFormat, collectJournaledLayers } from './open-checks.js';
import type { SharedCoordination } from './storage-backend.js';
import { learnIncarnation, nextStamp } from './shared-stamps.js';
import { DatabaseReplacedError } from './storage-errors.js';
import { PendingImports } from './pending-imports.js';

/** Registration value of a tenant whose deletion has started. */
const DELETING = 'deleting';

export type { TenantHandleLimits } from './tenant-host.js';

export const DEFAULT_HANDLE_LIMITS: TenantHandleLimits = { max: 10_000, idleMs: 60_000 };

/** Rows of small index ranges kept per database for repeated point reads (range-cache.ts): a few MB. */
const RANGE_CACHE_ROWS = 32_768;

/**
 * One logical database: one LevelDB, a sublevel per tenant, and a META sublevel with the format
 * version and the tenant registry.
 */
export class FactDatabase {
  /** Tenant handles, least recently used first (see `tenant`). */
  private readonly tenants = new Map<string, { readonly store: TenantStore; readonly sub: LevelSublevel; touched: number }>();
  private registered = new Set<string>();
  private deleting = new Set<string>();
  /** While the registry is read again (shared storage), this process's own changes of it, replayed on what was read. */
  private changedDuringLoad: Array<(registered: Set<string>, deleting: Set<string>) => void> | null = null;
  /** The database stamp last seen (shared storage only): another one means another process changed the registry or settings. */
  private knownStamp: string | undefined;
  /** The incarnation of the storage this handle opened (shared storage only; see DATABASE_INCARNATION_KEY). */
  private incarnation: string | undefined;
  private refreshing: Promise<void> | null = null;
  /** Emits ('provisioned', database, tenant) when a tenant first exists, and ('changed', database) when another process changed its tenants, settings or rules. */
  readonly lifecycle = new EventEmitter();
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly meta: LevelSublevel;
  private readonly writer: BatchWriter;
  private readonly rangeCache = new RangeCache(RANGE_CACHE_ROWS);
  private readonly host: TenantHost;
  /** Imports running or left unfinished by a dead process (pending-imports.ts). */
  readonly imports: PendingImports;

  private constructor(
    readonly name: string,
    private readonly db: LevelDb,
    private readonly durability: Durability,
    private readonly background: BackgroundRunner,
    private readonly handles: TenantHandleLimits,
    private readonly eventFloor: number,
    /** Set on storage shared by several processes (storage-backend.ts). */
    private readonly shared: SharedCoordination | null,
    /** The process's approximate vector indexes (none: vector search is always exact). */
    private readonly vectorIndexes: VectorIndexes | null,
  ) {
    this.meta = db.sublevel<string, string>(META_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    this.writer = new BatchWriter(name, db, this.meta, durability);
    this.host = this.hostFor();
    this.imports = new PendingImports({
      database: name,
      meta: this.meta,
      shared,
      writeMeta: (ops, tenant) => this.writer.write([...ops, ...this.stampOps(tenant)]),
      exclusive: (tenant, work) => this.host.exclusive(tenant, work),
      isRegistered: (tenant) => this.registered.has(tenant),
      tenant: (tenant) => this.tenant(tenant),
      unregister: (tenant, ops) => this.unregisterTenant(tenant, ops),
    });
  }

  static async open(name: string, db: LevelDb, durability: Durability, options: DatabaseOptions = {}): Promise<FactDatabase> {
    await db.open();
    const { background = new BackgroundRunner(), handles = DEFAULT_HANDLE_LIMITS, eventFloor = 0, shared = null, vectorIndexes = null } = options;
    const database = new FactDatabase(name, db, durability, background, handles, eventFloor, shared, vectorIndexes);
    await checkFormat(name, database.meta);
    if (shared) database.incarnation = await learnIncarnation(db, database.meta, database.stampOps());
    database.knownStamp = shared ? await database.meta.get(DATABASE_STAMP_KEY) : undefined;
    await database.loadRegistry();
    await database.imports.sweep(true);
    await collectJournaledLayers(database.meta, (tenant) => database.registered.has(tenant), (tenant) => database.tenant(tenant));
    database.startGroupCommit();
    return database;
  }

  /** Read the registry of tenants; writes of this process that land meanwhile are kept (see markRegistered). */
  private async loadRegistry(): Promise<void> {
    const registered = new Set<string>();
    const deleting = new Set<string>();
    const since: NonNullable<typeof this.changedDuringLoad> = [];
    this.changedDuringLoad = since;
    try {
      for await (const [key, value] of scanRange(new KeyspaceReader(this.meta), tenantRegistryRange())) {
        const tenant = tenantFromRegistryKey(key);
        if (value === DELETING) deleting.add(tenant);
        else registered.add(tenant);
      }
    } finally {
      this.changedDuringLoad = null;
    }
    for (const change of since) change(registered, deleting);
    this.registered = registered;
    this.deleting = deleting;
  }

  /**
   * On shared storage, before a request uses the database: if another process changed the registry
   * of tenants, the settings or the database rules since this one last looked (the database stamp
   * moved), read the registry again, retire the handles of tenants deleted meanwhile (their queued
   * writes fail as on one process) and tell the listeners of 'changed' (the settings cache). One
   * point read per request; the rest only after a change, which is rare.
   */
  async refreshShared(): Promise<void> {
    if (this.shared === null) return;
    this.refreshing ??= this.refreshRegistry().finally(() => (this.refreshing = null));
    await this.refreshing;
  }

  private async refreshRegistry(): Promise<void> {
    const stamp = await this.meta.get(DATABASE_STAMP_KEY);
    if (stamp === this.knownStamp) return;
    // Creating the storage moves the stamp too: a new incarnation means this handle is of a dropped database.
    if ((await this.meta.get(DATABASE_INCARNATION_KEY)) !== this.incarnation) throw new DatabaseReplacedError(this.name);
    this.knownStamp = stamp;
    const before = new Set(this.registered);
    await this.loadRegistry();
    await this.imports.sweep(false);
    for (const tenant of before) {
      if (this.registered.has(tenant)) continue;
      this.tenants.get(tenant)?.store.retire();
      this.tenants.delete(tenant);
    }
    this.lifecycle.emit('changed', this.name);
  }

  /** The database stamp op of a change other processes must see (registry, settings, rules), and the tenant's stamp too with `tenant`: none when not shared. */
  private stampOps(tenant?: string): BatchOp[] {
    if (this.shared === null) return [];
    const ops: BatchOp[] = [{ type: 'put', key: DATABASE_STAMP_KEY, value: nextStamp(), sublevel: this.meta }];
    return tenant === undefined ? ops : [...ops, { type: 'put', key: tenantStampKey(tenant), value: nextStamp(), sublevel: this.meta }];
  }

  private startGroupCommit(): void {
    if (!this.durability.syncEveryWrite && this.durability.groupCommitMs > 0) {
      const sync = () => this.writer.syncIfDirty();
      this.syncTimer = setInterval(() => void this.background.run('group-commit', { database: this.name }, sync), this.durability.groupCommitMs);
      this.syncTimer.unref();
    }
  }

  /**
   * The tenant's store; the tenant comes into existence with its first write. Handles are cached
   * for registered tenants, at most `handles.max` of them: idle ones (see TenantStore.isIdle) not
   * used for `handles.idleMs` go first, least recently used first, and any idle handle of a tenant
   * that does not exist goes as soon as that much time passed. A dropped handle is made again on
   * the next use (its scopes and event counter are read again from disk).
   */
  tenant(name: string): TenantStore {
    const now = Date.now();
    const cached = this.tenants.get(name);
    if (cached) {
      this.tenants.delete(name);
      cached.touched = now;
      this.tenants.set(name, cached);
      return cached.store;
    }
    this.dropIdleHandles(now);
    const sub = this.db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    const store = new TenantStore(this.host, name, sub);
    this.tenants.set(name, { store, sub, touched: now });
    return store;
  }

  private dropIdleHandles(now: number): void {
    for (const [name, entry] of this.tenants) {
      if (now - entry.touched < this.handles.idleMs) break; // the rest were used more recently
      const over = this.tenants.size >= this.handles.max;
      if ((over || !this.registered.has(name)) && entry.store.isIdle) this.tenants.delete(name);
    }
  }

  /** Internal (tests): how many tenant handles are cached. */
  get cachedTenantHandles(): number {
    return this.tenants.size;
  }

  /**
   * The stored registration of a tenant, read now (not the cached registry): it changes when the
   * tenant is deleted ('deleting', then none) and when it is created again (another time), so a
   * change stream on shared storage compares it between its reads to learn of a deletion elsewhere.
   */
  async registrationOf(name: string): Promise<string | null> {
    return (await this.meta.get(tenantRegistryKey(name))) ?? null;
  }

  hasTenant(name: string): boolean {
    return this.registered.has(name);
  }

  listTenants(): string[] {
    return [...this.registered].sort();
  }

  /** Database rules (shared by every tenant), in id order. */
  databaseRules(): Promise<RuleRecord[]> {
    return loadRules(new KeyspaceReader(this.meta));
  }

  async putDatabaseRules(rules: readonly RuleRecord[]): Promise<void> {
    await this.writer.write([...rules.map((r) => putRuleOp(this.meta, r)), ...this.stampOps()]);
  }

  async deleteDatabaseRule(id: string): Promise<void> {
    await this.writer.write([delRuleOp(this.meta, id), ...this.stampOps()]);
  }

  /** Settings of the database (`tenant` null) or a tenant's overrides of them; {} when none were set. */
  settings(tenant: string | null): Promise<SettingsRecord> {
    return loadSettings(new KeyspaceReader(this.meta), tenant);
  }

  /** Replace them (an empty record removes them). */
  async putSettings(tenant: string | null, settings: SettingsRecord): Promise<void> {
    await this.writer.write([putSettingsOp(this.meta, tenant, settings), ...this.stampOps()]);
  }

  /** A tenant's usage of a day (null: none recorded). */
  usage(tenant: string, day: string): Promise<UsageRecord | null> {
    return loadUsage(new KeyspaceReader(this.meta), tenant, day);
  }

  /** Usage records of every tenant, or of one, in tenant then day order. */
  usageRecords(tenant?: string): AsyncGenerator<{ tenant: string; day: string; usage: UsageRecord }> {
    return scanUsage(new KeyspaceReader(this.meta), tenant);
  }

  async putUsage(records: readonly { tenant: string; day: string; usage: UsageRecord }[]): Promise<void> {
    await this.writer.write(records.map((r) => putUsageOp(this.meta, r.tenant, r.day, r.usage)));
  }

  /** Register a tenant without writing facts (idempotent). */
  async registerTenant(name: string): Promise<boolean> {
    const ops = this.registrationOps(name);
    if (ops.length === 0) return false;
    await this.writer.write(ops);
    this.markRegistered(name);
    return true;
  }

  /**
   * Tenant deletion, in steps that are safe to repeat after a crash: mark the registration as
   * deleting (so a restart knows to finish), clear the tenant's prefix in one range delete, and
   * only then drop the registration. The caller runs its hooks between `clearTenant` and `unregisterTenant`.
   */
  async markTenantDeleting(name: string): Promise<void> {
    await this.db.batch([{ type: 'put', key: tenantRegistryKey(name), value: DELETING, sublevel: this.meta }, ...this.stampOps()], SYNC).catch((error: unknown) => {
      throw this.writer.storageError(error);
    });
    this.registered.delete(name);
    this.deleting.add(name);
    this.changedDuringLoad?.push((registered, deleting) => {
      registered.delete(name);
      deleting.add(name);
    });
  }

  async clearTenant(name: string): Promise<void> {
    const store = this.tenant(name);
    await store.clear();
    store.retire();
    this.tenants.delete(name);
  }

  /** `also`: ops written in the same batch (a pending import's marker). */
  async unregisterTenant(name: string, also: readonly BatchOp[] = []): Promise<void> {
    // The tenant's settings go with its registration: a tenant created again under the name starts from the database's.
    await this.db.batch([putSettingsOp(this.meta, name, {}), { type: 'del', key: tenantRegistryKey(name), sublevel: this.meta }, ...also, ...this.stampOps()], SYNC);
    this.registered.delete(name);
    this.deleting.delete(name);
    this.changedDuringLoad?.push((registered, deleting) => {
      registered.delete(name);
      deleting.delete(name);
    });
  }

  /** Tenants whose deletion was started and not finished (a crash midway). */
  pendingDeletions(): string[] {
    return [...this.deleting];
  }

  private hostFor(): TenantHost {
    return {
      database: this.name,
      meta: this.meta,
      background: this.background,
      eventFloor: this.eventFloor,
      shared: this.shared !== null,
      changedElsewhere: (tenant: string) => {
        this.lifecycle.emit('tenant-changed', this.name, tenant);
        return this.imports.refuseIfImporting(tenant);
      },
      settleImport: (tenant: string) => this.imports.settle(tenant),
      exclusive: <T>(tenant: string, work: () => Promise<T>) => (this.shared === null ? work() : this.shared.exclusive(this.name, tenant, work)),
      write: (ops: BatchOp[]) => this.writer.write(ops),
      registrationOps: (tenant: string) => this.registrationOps(tenant),
      registered: (tenant: string) => this.markRegistered(tenant),
      snapshot: () => (this.db.supports.explicitSnapshots ? this.db.snapshot() : null),
      // Shared storage: another process's commits never reach this one's vector cache in step, so no index follows them.
      ...(this.vectorIndexes !== null && this.shared === null ? { vectorIndexes: this.vectorIndexes } : {}),
      ranges: (tenant: string) => this.rangeCache.forTenant(tenant),
    };
  }

  private markRegistered(tenant: string): void {
    if (this.registered.has(tenant)) return;
    this.registered.add(tenant);
    this.changedDuringLoad?.push((registered) => registered.add(tenant));
    this.lifecycle.emit('provisioned', this.name, tenant);
  }

  private registrationOps(tenant: string): BatchOp[] {
    if (this.registered.has(tenant)) return [];
    if (this.deleting.has(tenant)) throw new VesperError('CONFLICT', `tenant '${tenant}' is being deleted`, { tenant });
    // A new tenant starts with every fact indexed (none): no backfill will be needed.
    const sub = this.db.sublevel<string, string>(tenant, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    return [
      { type: 'put', key: tenantRegistryKey(tenant), value: String(Date.now()), sublevel: this.meta },
      { type: 'put', key: RETRIEVAL_MARKER_KEY, value: '1', sublevel: sub },
      ...this.stampOps(),
    ];
  }

  /** True after a write failed on a full disk, until resume() reopened the database. */
  get needsReopen(): boolean {
    return this.writer.needsReopen;
  }

  /**
   * Close the LevelDB (its descriptors, caches and buffers) but keep this object, its tenants'
   * cached state and their subscribers: resume() reopens the same directory. The catalogue calls
   * it only when no request holds the database (so no background task of its own is reading it).
   */
  async suspend(): Promise<void> {
    await this.closeLevel();
  }

  /** Reopen after suspend(): closing `db` closed its sublevels too, so the cached tenants' are reopened. */
  async resume(): Promise<void> {
    // Shared storage: another process may have dropped the database meanwhile; reopening must not make it again.
    await this.db.open(this.shared === null ? {} : { createIfMissing: false });
    await this.meta.open();
    for (const { sub } of this.tenants.values()) await sub.open();
    this.writer.reopened();
    this.startGroupCommit();
  }

  get isOpen(): boolean {
    return this.db.status === 'open';
  }

  async close(): Promise<void> {
    await this.background.idle();
    await this.closeLevel();
  }

  private async closeLevel(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = null;
    await this.writer.flushBeforeClose();
    await this.db.close();
  }
}
