import { TenantNotFoundError } from '../domain/errors.js';
import type { Catalog } from '../store/catalog.js';
import type { FactDatabase } from '../store/fact-database.js';
import type { KeyChanges } from './keys.js';
import type { TenantGate } from './tenant-gate.js';

/** Something to do when a tenant comes into existence or is deleted (keys, caches, sessions, …). */
export type TenantHook = (database: string, tenant: string) => Promise<void> | void;

/**
 * Tenant lifecycle. Tenants are provisioned by their first write (or explicitly by an admin);
 * deleting one removes everything under its prefix and runs the deprovision hooks, in steps that
 * a restart finishes if a crash interrupted them.
 */
export class TenantService {
  private readonly provisionHooks: TenantHook[] = [];
  private readonly deprovisionHooks: TenantHook[] = [];

  constructor(
    private readonly catalog: Catalog,
    /** Take the deleted tenant out of the keys that grant it; says which keys changed. */
    private readonly forgetKeys: (database: string, tenant: string) => Promise<KeyChanges>,
    /** Requests in flight per tenant: a deletion waits for them and refuses new ones until it is done. */
    private readonly gate: TenantGate,
  ) {
    catalog.lifecycle.on('provisioned', (database: string, tenant: string) => {
      for (const hook of this.provisionHooks) void Promise.resolve(hook(database, tenant)).catch(() => undefined);
    });
  }

  onProvision(hook: TenantHook): void {
    this.provisionHooks.push(hook);
  }

  onDeprovision(hook: TenantHook): void {
    this.deprovisionHooks.push(hook);
  }

  async list(database: string): Promise<string[]> {
    await using lease = await this.catalog.forRead(database);
    return lease.database.listTenants();
  }

  /** Idempotent: creating an existing tenant reports created=false. */
  async create(database: string, tenant: string): Promise<boolean> {
    await using lease = await this.catalog.forWrite(database);
    return await lease.database.registerTenant(tenant);
  }

  /** Delete a tenant; the reply says which API keys lost it. */
  async delete(databaseName: string, tenant: string): Promise<KeyChanges> {
    await using lease = await this.catalog.forRead(databaseName);
    const database = lease.database;
    if (!database.hasTenant(tenant) && !database.pendingDeletions().includes(tenant)) {
      throw new TenantNotFoundError(tenant, databaseName);
    }
    const reopen = await this.gate.close(databaseName, tenant);
    try {
      return await this.finishDeletion(database, tenant);
    } finally {
      reopen();
    }
  }

  private async finishDeletion(database: FactDatabase, tenant: string): Promise<KeyChanges> {
    await database.markTenantDeleting(tenant);
    await database.clearTenant(tenant);
    const changes = await this.deprovisioned(database.name, tenant);
    await database.unregisterTenant(tenant);
    return changes;
  }

  /** Take the tenant out of the keys, then run the deprovision hooks (also for every tenant of a deleted database). */
  async deprovisioned(database: string, tenant: string): Promise<KeyChanges> {
    const changes = await this.forgetKeys(database, tenant);
    for (const hook of this.deprovisionHooks) await hook(database, tenant);
    return changes;
  }

  /** At start: finish deletions a crash interrupted. */
  async resumeDeletions(): Promise<number> {
    let resumed = 0;
    await this.catalog.eachDatabase(async (database) => {
      for (const tenant of database.pendingDeletions()) {
        await this.finishDeletion(database, tenant);
        resumed++;
      }
    });
    return resumed;
  }
}
