import { ConflictError } from '../domain/errors.js';
import { pendingImportKey, pendingImportRange, tenantFromPendingImportKey } from '../encoding/control-keys.js';
import { type BatchOp, KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';
import type { SharedCoordination } from './storage-backend.js';
import type { TenantStore } from './tenant-store.js';

/** What the pending imports of a database need from it (fact-database.ts). */
export interface ImportHost {
  readonly database: string;
  readonly meta: LevelSublevel;
  readonly shared: SharedCoordination | null;
  /**
   * One atomic batch of META ops, stamped on shared storage: other processes then read the markers
   * again, and with `tenant`, their next transaction of the tenant catches up (and sees the marker).
   */
  writeMeta(ops: BatchOp[], tenant?: string): Promise<void>;
  /** Run `work` holding the tenant's write lock across processes (TenantHost.exclusive). */
  exclusive<T>(tenant: string, work: () => Promise<T>): Promise<T>;
  isRegistered(tenant: string): boolean;
  tenant(name: string): TenantStore;
  /** Drop the tenant's registration and settings in one batch with `ops`. */
  unregister(tenant: string, ops: BatchOp[]): Promise<void>;
}

/** Marker values: whether the tenant was registered before the import (a failed import leaves it registered, empty). */
const EXISTED = 'existed';
const NEW = 'new';

/**
 * Imports in progress, made durable: before an import's first write a marker goes into META; the
 * import's last transaction removes it with the layout it installs (TenantTransaction.endImport),
 * and a failed import removes it once the tenant is emptied again. A marker whose import is not
 * running (its process died) is undone the same way: at open, or on shared storage at the next
 * request to the tenant. An import only fills a tenant that was empty (PortabilityService checks
 * it before the marker is written), so undoing it is emptying the tenant, as a refused import does.
 *
 * Which imports are running: on one process (LevelDB) this object knows; on shared storage each
 * import holds an advisory lock for its whole duration (SharedCoordination.importing), which the
 * storage releases when the process dies, and an undo only runs while holding it.
 */
export class PendingImports {
  /** Tenants this process is importing into now. */
  private readonly running = new Set<string>();
  /** Shared storage: tenants with a marker of an import that may be running in another process. */
  private readonly elsewhere = new Set<string>();
  /** Undos in progress (shared storage), so that concurrent requests wait on one. */
  private readonly settling = new Map<string, Promise<boolean>>();

  constructor(private readonly host: ImportHost) {}

  /**
   * Import into a tenant: a marker an earlier import left is undone, `check` runs (a refusal writes
   * nothing), the marker is written, then `work`, whose last transaction removes it. A throw from
   * `work` empties the tenant again (and unregisters it if the import made it). `held()` (for that
   * last transaction) turns false if, on shared storage, the import lost its lock meanwhile.
   */
  async run<T>(tenant: string, check: () => Promise<void>, work: (held: () => boolean) => Promise<T>): Promise<T> {
    this.running.add(tenant);
    try {
      return await this.holding(tenant, async (held) => {
        const stale = await this.marker(tenant);
        if (stale !== null) await this.undo(tenant, stale);
        // Under the tenant's write lock: no other process writes between the check and the marker,
        // and its next transaction of the tenant sees the marker and is refused (refuseIfImporting).
        const existed = await this.host.exclusive(tenant, async () => {
          await check();
          const registered = this.host.isRegistered(tenant);
          await this.host.writeMeta([{ type: 'put', key: pendingImportKey(tenant), value: registered ? EXISTED : NEW, sublevel: this.host.meta }], tenant);
          return registered;
        });
        try {
          return await work(held);
        } catch (error) {
          await this.undo(tenant, existed);
          throw error;
        }
      });
    } finally {
      this.running.delete(tenant);
      this.elsewhere.delete(tenant);
    }
  }

  /**
   * Read the markers (at open, and on shared storage when another process changed the registry).
   * `recover`: undo those whose import is not running now; otherwise only note them for `settle`.
   */
  async sweep(recover: boolean): Promise<void> {
    const found: string[] = [];
    for await (const [key] of scanRange(new KeyspaceReader(this.host.meta), pendingImportRange())) found.push(tenantFromPendingImportKey(key));
    for (const tenant of found) {
      if (this.running.has(tenant)) continue;
      this.elsewhere.add(tenant);
      if (recover) await this.recover(tenant);
    }
  }

  /**
   * Before a request reads or writes the tenant: null when there is nothing to do (always, unless a
   * marker of another process's import was seen); else a wait that undoes the import if its process
   * died, or refuses the request (409) while it runs, as the importing process itself does.
   */
  settle(tenant: string): Promise<void> | null {
    if (!this.elsewhere.has(tenant) || this.running.has(tenant)) return null;
    return this.recover(tenant).then((undone) => {
      if (!undone) throw new ConflictError(`tenant '${tenant}' is being imported`, { database: this.host.database, tenant });
    });
  }

  /**
   * Shared storage, when another process committed to the tenant (TenantStore.catchUp, possibly
   * under the tenant's write lock): if that was the start of an import, refuse (409) and note it.
   */
  async refuseIfImporting(tenant: string): Promise<void> {
    if (this.running.has(tenant) || (await this.marker(tenant)) === null) return;
    this.elsewhere.add(tenant);
    throw new ConflictError(`tenant '${tenant}' is being imported`, { database: this.host.database, tenant });
  }

  /** Undo the tenant's import if none is running; false when one is. */
  private recover(tenant: string): Promise<boolean> {
    let pending = this.settling.get(tenant);
    if (pending === undefined) {
      pending = this.unlessRunning(tenant, async () => {
        // Read again under the lock: the import may have finished since the marker was seen.
        const marker = await this.marker(tenant);
        if (marker !== null) await this.undo(tenant, marker);
      })
        .then((undone) => {
          if (undone) this.elsewhere.delete(tenant);
          return undone;
        })
        .finally(() => this.settling.delete(tenant));
      this.settling.set(tenant, pending);
    }
    return pending;
  }

  /** Empty the tenant, then drop the marker (with the registration, if the import made the tenant): repeatable after a crash midway. */
  private async undo(tenant: string, existed: boolean): Promise<void> {
    await this.host.tenant(tenant).clear();
    const done: BatchOp[] = [{ type: 'del', key: pendingImportKey(tenant), sublevel: this.host.meta }];
    if (!existed && this.host.isRegistered(tenant)) await this.host.unregister(tenant, done);
    else await this.host.writeMeta(done);
  }

  /** The tenant's marker: whether it existed before the import, or null when no import is pending. */
  private async marker(tenant: string): Promise<boolean | null> {
    const value = await this.host.meta.get(pendingImportKey(tenant));
    return value === undefined ? null : value !== NEW;
  }

  private holding<T>(tenant: string, work: (held: () => boolean) => Promise<T>): Promise<T> {
    return this.host.shared === null ? work(() => true) : this.host.shared.importing(this.host.database, tenant, work);
  }

  private async unlessRunning(tenant: string, work: () => Promise<void>): Promise<boolean> {
    if (this.host.shared !== null) return this.host.shared.unlessImporting(this.host.database, tenant, work);
    if (this.running.has(tenant)) return false;
    await work();
    return true;
  }
}
