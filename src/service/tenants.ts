import { TenantNotFoundError } from '../domain/errors.js';
import type { Catalog } from '../store/catalog.js';
import type { FactDatabase } from '../store/fact-database.js';

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

  constructor(private readonly catalog: Catalog) {
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
    return (await this.catalog.forRead(database)).listTenants();
  }

  /** Idempotent: creating an existing tenant reports created=false. */
  async create(database: string, tenant: string): Promise<boolean> {
    return (await this.catalog.forWrite(database)).registerTenant(tenant);
  }

  async delete(databaseName: string, tenant: string): Promise<void> {
    const database = await this.catalog.forRead(databaseName);
    if (!database.hasTenant(tenant) && !database.pendingDeletions().includes(tenant)) {
      throw new TenantNotFoundError(tenant, databaseName);
    }
    await this.finishDeletion(database, tenant);
  }

  private async finishDeletion(database: FactDatabase, tenant: string): Promise<void> {
    await database.markTenantDeleting(tenant);
    await database.clearTenant(tenant);
    await this.deprovisioned(database.name, tenant);
    await database.unregisterTenant(tenant);
  }

  /** Run the deprovision hooks (also for every tenant of a deleted database). */
  async deprovisioned(database: string, tenant: string): Promise<void> {
    for (const hook of this.deprovisionHooks) await hook(database, tenant);
  }

  /** At start: finish deletions a crash interrupted. */
  async resumeDeletions(): Promise<number> {
    let resumed = 0;
    for (const database of await this.catalog.openAll()) {
      for (const tenant of database.pendingDeletions()) {
        await this.finishDeletion(database, tenant);
        resumed++;
      }
    }
    return resumed;
  }
}
