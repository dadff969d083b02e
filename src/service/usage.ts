import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Catalog } from '../store/catalog.js';
import type { UsageRecord } from '../store/usage-records.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';

/** What one query cost: wall time of rule/join evaluation, stored facts read. */
export interface EvaluationCost {
  readonly ruleEvalMs: number;
  readonly rowsRead: number;
}

export interface UsageDay extends UsageRecord {
  readonly database: string;
  readonly tenant: string;
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
}

/** Totals since the server started, per tenant: what /metrics exports. */
export interface TenantTotals {
  readonly database: string;
  readonly tenant: string;
  requests: number;
  ruleEvalMs: number;
  rowsRead: number;
}

interface Pending {
  readonly database: string;
  readonly tenant: string;
  readonly day: string;
  readonly requests: Map<string, number>;
  ruleEvalMs: number;
  rowsRead: number;
}

const DAY_MS = 86_400_000;
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * Usage metering per tenant and UTC day: requests by operation, rule-evaluation time and rows
 * read are counted in memory (a map update per request) and added to the day's record in the
 * database's META by `flush` (every few seconds, at shutdown, and before a usage read); facts and
 * bytes stored are the tenant's totals at that flush.
 */
export class UsageService {
  private pending = new Map<string, Pending>();
  private readonly totals = new Map<string, TenantTotals>();
  /** What tenants folded out of `totals` had counted: /metrics adds it to `other`. */
  private readonly folded = { requests: 0, ruleEvalMs: 0, rowsRead: 0 };
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    /**
     * Tenants whose totals are kept one by one. Beyond it the least busy tenth is folded into one
     * sum, so a server that sees millions of tenants (sandboxes) keeps a bounded map; /metrics only
     * shows the top tenants anyway.
     */
    private readonly maxTrackedTenants = 10_000,
  ) {}

  request(address: TenantAddress, operation: string): void {
    const entry = this.entry(address);
    entry.requests.set(operation, (entry.requests.get(operation) ?? 0) + 1);
    this.total(address).requests++;
  }

  evaluation(address: TenantAddress, cost: EvaluationCost): void {
    const entry = this.entry(address);
    entry.ruleEvalMs += cost.ruleEvalMs;
    entry.rowsRead += cost.rowsRead;
    const total = this.total(address);
    total.ruleEvalMs += cost.ruleEvalMs;
    total.rowsRead += cost.rowsRead;
  }

  /** Per-tenant totals since start, largest request count first, and the sum of the tenants folded out. */
  tenantTotals(): { readonly tenants: TenantTotals[]; readonly folded: Readonly<Omit<TenantTotals, 'database' | 'tenant'>> } {
    return { tenants: [...this.totals.values()].sort((a, b) => b.requests - a.requests), folded: { ...this.folded } };
  }

  /** Add what was counted since the last flush to the stored day records (one at a time). */
  flush(): Promise<void> {
    const run = this.flushing.catch(() => undefined).then(() => this.flushNow());
    this.flushing = run;
    return run;
  }

  /** `GET /admin/usage`: day records of a database (or one tenant of it) between two days, inclusive. */
  async read(database: string, tenant: string | null, from: string | null, to: string | null): Promise<UsageDay[]> {
    const first = from ?? dayOf(this.clock() - 30 * DAY_MS);
    const last = to ?? dayOf(this.clock());
    if (first > last) throw new ValidationError(`'from' (${first}) is after 'to' (${last})`, { from: first, to: last });
    if (!(await this.catalog.existsNow(database))) throw new NotFoundError(`database '${database}' does not exist`, { database });
    await this.flush();
    await using lease = await this.catalog.forRead(database);
    const days: UsageDay[] = [];
    for await (const record of lease.database.usageRecords(tenant ?? undefined)) {
      if (record.day >= first && record.day <= last) days.push({ database, tenant: record.tenant, day: record.day, ...record.usage });
    }
    return days;
  }

  /** The UTC day of the last request and its bounds: formatting a date for every request was a percent of a point ask. */
  private today = { start: 0, end: 0, day: '' };

  private dayNow(): string {
    const now = this.clock();
    if (now < this.today.start || now >= this.today.end) {
      const start = now - (((now % DAY_MS) + DAY_MS) % DAY_MS);
      this.today = { start, end: start + DAY_MS, day: dayOf(now) };
    }
    return this.today.day;
  }

  private entry(address: TenantAddress): Pending {
    const day = this.dayNow();
    const key = `${address.database}/${address.tenant}/${day}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { database: address.database, tenant: address.tenant, day, requests: new Map(), ruleEvalMs: 0, rowsRead: 0 };
      this.pending.set(key, entry);
    }
    return entry;
  }

  private total(address: TenantAddress): TenantTotals {
    const key = `${address.database}/${address.tenant}`;
    let total = this.totals.get(key);
    if (!total) {
      total = { database: address.database, tenant: address.tenant, requests: 0, ruleEvalMs: 0, rowsRead: 0 };
      if (this.totals.size >= this.maxTrackedTenants) this.foldQuietest();
      this.totals.set(key, total);
    }
    return total;
  }

  /** Fold the least busy tenth of the tracked tenants into `folded` (amortised: once per tenth new tenants). */
  private foldQuietest(): void {
    const quietest = [...this.totals].sort(([, a], [, b]) => a.requests - b.requests).slice(0, Math.max(1, Math.ceil(this.totals.size / 10)));
    for (const [key, total] of quietest) {
      this.folded.requests += total.requests;
      this.folded.ruleEvalMs += total.ruleEvalMs;
      this.folded.rowsRead += total.rowsRead;
      this.totals.delete(key);
    }
  }

  private async flushNow(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const byDatabase = new Map<string, Pending[]>();
    for (const entry of batch) byDatabase.set(entry.database, [...(byDatabase.get(entry.database) ?? []), entry]);
    for (const [database, entries] of byDatabase) {
      if (!this.catalog.exists(database)) continue; // dropped meanwhile: its usage went with it
      try {
        await this.flushDatabase(database, entries);
      } catch (error) {
        for (const entry of entries) this.putBack(entry); // counted again at the next flush
        throw error;
      }
    }
  }

  private async flushDatabase(name: string, entries: readonly Pending[]): Promise<void> {
    await using lease = await this.catalog.forRead(name);
    const database = lease.database;
    const records: { tenant: string; day: string; usage: UsageRecord }[] = [];
    for (const entry of entries) {
      const stored = await database.usage(entry.tenant, entry.day);
      const registry = database.hasTenant(entry.tenant) ? await database.tenant(entry.tenant).scopes(this.clock()) : null;
      const requests: Record<string, number> = { ...(stored?.requests ?? {}) };
      for (const [operation, n] of entry.requests) requests[operation] = (requests[operation] ?? 0) + n;
      records.push({
        tenant: entry.tenant,
        day: entry.day,
        usage: {
          requests,
          ruleEvalMs: Math.round(((stored?.ruleEvalMs ?? 0) + entry.ruleEvalMs) * 1000) / 1000,
          rowsRead: (stored?.rowsRead ?? 0) + entry.rowsRead,
          facts: registry?.totalFacts() ?? 0,
          bytes: registry?.storedBytes ?? 0,
        },
      });
    }
    await database.putUsage(records);
  }

  private putBack(entry: Pending): void {
    const key = `${entry.database}/${entry.tenant}/${entry.day}`;
    const current = this.pending.get(key);
    if (!current) {
      this.pending.set(key, entry);
      return;
    }
    for (const [operation, n] of entry.requests) current.requests.set(operation, (current.requests.get(operation) ?? 0) + n);
    current.ruleEvalMs += entry.ruleEvalMs;
    current.rowsRead += entry.rowsRead;
  }
}
