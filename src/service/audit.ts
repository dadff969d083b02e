import type { VesperError } from '../domain/errors.js';
import type { Catalog } from '../store/catalog.js';
import type { TenantEvent } from '../store/event-log.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';

/**
 * The audit trail of a tenant is its event log: every write (with the acting key id, never a
 * secret) and every admin action on it. Failed writes are recorded too, with their error code.
 */
export class AuditService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
  ) {}

  async read(address: TenantAddress, afterSeq: number, limit: number): Promise<TenantEvent[]> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return [];
    return await database.tenant(address.tenant).events.read(afterSeq, limit);
  }

  /** Record an operation that failed, for tenants that exist (a failed first write creates nothing). */
  async recordFailure(address: TenantAddress, op: string, error: VesperError): Promise<void> {
    if (!(await this.catalog.existsNow(address.database))) return;
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return;
    const tenant = database.tenant(address.tenant);
    const draft = { op, actor: address.actor ?? null, target: op, outcome: 'error' as const, details: { code: error.code, message: error.message } };
    await tenant.transaction(this.clock(), async (tx) => tx.event(draft));
  }

  /** Record an admin action on a tenant (creation, …). */
  async recordAdmin(address: TenantAddress, op: string, target: string): Promise<void> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return;
    const tenant = database.tenant(address.tenant);
    await tenant.transaction(this.clock(), async (tx) => tx.event({ op, actor: address.actor ?? null, target, outcome: 'ok' }));
  }

  /** Drop events older than the retention from every tenant of every open database. */
  /** Delete events older than the retention, one for all or each tenant's own (0 = kept forever). */
  async prune(retention: number | ((database: string, tenant: string) => Promise<number>)): Promise<number> {
    const retentionMsOf = typeof retention === 'number' ? () => Promise.resolve(retention) : retention;
    let pruned = 0;
    const now = this.clock();
    await this.catalog.eachDatabase(async (database) => {
      for (const name of database.listTenants()) {
        const retentionMs = await retentionMsOf(database.name, name);
        if (retentionMs !== 0) pruned += await database.tenant(name).events.prune(now - retentionMs);
      }
    });
    return pruned;
  }
}
