import { EventEmitter } from 'node:events';
import { VesperError } from '../domain/errors.js';
import {
  FORMAT_VERSION_KEY,
  META_SUBLEVEL,
  SYNC_MARKER_KEY,
  tenantFromRegistryKey,
  tenantRegistryKey,
  tenantRegistryRange,
} from '../encoding/control-keys.js';
import { FORMAT_VERSION } from '../encoding/records.js';
import type { BatchOp, LevelDb, LevelSublevel } from './level-types.js';
import { TenantStore } from './tenant-store.js';

/** Registration value of a tenant whose deletion has started. */
const DELETING = 'deleting';

export interface Durability {
  /** fsync every batch before acknowledging it. */
  readonly syncEveryWrite: boolean;
  /** Otherwise: batches reach the write-ahead log at once (safe from a process crash) and are fsynced within this interval. */
  readonly groupCommitMs: number;
}

/**
 * One logical database: one LevelDB, a sublevel per tenant, and a META sublevel with the format
 * version and the tenant registry.
 */
export class FactDatabase {
  private readonly tenants = new Map<string, TenantStore>();
  private readonly registered = new Set<string>();
  private readonly deleting = new Set<string>();
  /** Emits ('provisioned', database, tenant) when a tenant first exists. */
  readonly lifecycle = new EventEmitter();
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private readonly meta: LevelSublevel;

  private constructor(
    readonly name: string,
    private readonly db: LevelDb,
    private readonly durability: Durability,
  ) {
    this.meta = db.sublevel<string, string>(META_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  }

  static async open(name: string, db: LevelDb, durability: Durability): Promise<FactDatabase> {
    await db.open();
    const database = new FactDatabase(name, db, durability);
    await database.checkFormat();
    for await (const [key, value] of database.meta.iterator(tenantRegistryRange())) {
      const tenant = tenantFromRegistryKey(key);
      if (value === DELETING) database.deleting.add(tenant);
      else database.registered.add(tenant);
    }
    if (!durability.syncEveryWrite && durability.groupCommitMs > 0) {
      database.syncTimer = setInterval(() => void database.syncIfDirty(), durability.groupCommitMs);
      database.syncTimer.unref();
    }
    return database;
  }

  private async checkFormat(): Promise<void> {
    const stored = await this.meta.get(FORMAT_VERSION_KEY);
    if (stored === undefined) {
      await this.meta.put(FORMAT_VERSION_KEY, String(FORMAT_VERSION), { sync: true } as never);
    } else if (Number(stored) !== FORMAT_VERSION) {
      throw new VesperError('INTERNAL_ERROR', `database '${this.name}' has format ${stored}, this server reads ${FORMAT_VERSION}`);
    }
  }

  /** The tenant's store; the tenant comes into existence with its first write. */
  tenant(name: string): TenantStore {
    let store = this.tenants.get(name);
    if (!store) {
      const sub = this.db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      store = new TenantStore(this.hostFor(), name, sub);
      this.tenants.set(name, store);
    }
    return store;
  }

  hasTenant(name: string): boolean {
    return this.registered.has(name);
  }

  listTenants(): string[] {
    return [...this.registered].sort();
  }

  /** The sublevel holding database-wide records (database rules, the tenant registry). */
  get metaLevel(): LevelSublevel {
    return this.meta;
  }

  /** Register a tenant without writing facts (idempotent). */
  async registerTenant(name: string): Promise<boolean> {
    const ops = this.registrationOps(name);
    if (ops.length === 0) return false;
    await this.write(ops);
    this.markRegistered(name);
    return true;
  }

  /**
   * Tenant deletion, in steps that are safe to repeat after a crash: mark the registration as
   * deleting (so a restart knows to finish), clear the tenant's prefix in one range delete, and
   * only then drop the registration. The caller runs its hooks between `clearTenant` and `unregisterTenant`.
   */
  async markTenantDeleting(name: string): Promise<void> {
    await this.meta.put(tenantRegistryKey(name), DELETING, { sync: true } as never);
    this.registered.delete(name);
    this.deleting.add(name);
  }

  async clearTenant(name: string): Promise<void> {
    const store = this.tenant(name);
    await store.lock.run(async () => {
      await store.sub.clear();
      store.reset();
    });
  }

  async unregisterTenant(name: string): Promise<void> {
    await this.meta.del(tenantRegistryKey(name), { sync: true } as never);
    this.registered.delete(name);
    this.deleting.delete(name);
  }

  /** Tenants whose deletion was started and not finished (a crash midway). */
  pendingDeletions(): string[] {
    return [...this.deleting];
  }

  private hostFor() {
    return {
      database: this.name,
      write: (ops: BatchOp[]) => this.write(ops),
      registrationOps: (tenant: string) => this.registrationOps(tenant),
      registered: (tenant: string) => this.markRegistered(tenant),
    };
  }

  private markRegistered(tenant: string): void {
    if (this.registered.has(tenant)) return;
    this.registered.add(tenant);
    this.lifecycle.emit('provisioned', this.name, tenant);
  }

  private registrationOps(tenant: string): BatchOp[] {
    if (this.registered.has(tenant)) return [];
    if (this.deleting.has(tenant)) throw new VesperError('CONFLICT', `tenant '${tenant}' is being deleted`, { tenant });
    return [{ type: 'put', key: tenantRegistryKey(tenant), value: String(Date.now()), sublevel: this.meta }];
  }

  /** One atomic batch. Acknowledged means in the write-ahead log; fsync per VESPER_SYNC. */
  async write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    // Options only when needed: abstract-level copies them into every op, a third of bulk-tell CPU.
    if (this.durability.syncEveryWrite) await this.db.batch(ops as never, { sync: true } as never);
    else await this.db.batch(ops as never);
    if (!this.durability.syncEveryWrite) this.dirty = true;
  }

  /** Group commit: one fsync covers every batch written since the last one. */
  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.syncing || this.db.status !== 'open') return;
    this.dirty = false;
    this.syncing = this.meta
      .put(SYNC_MARKER_KEY, String(Date.now()), { sync: true } as never)
      .catch(() => {
        this.dirty = true;
      })
      .finally(() => {
        this.syncing = null;
      });
    await this.syncing;
  }

  async close(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.syncing;
    if (this.dirty && this.db.status === 'open') await this.meta.put(SYNC_MARKER_KEY, String(Date.now()), { sync: true } as never);
    await this.db.close();
  }
}
