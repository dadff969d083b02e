import { NotFoundError, ValidationError } from '../domain/errors.js';
import { parseName } from '../domain/names.js';
import { type Catalog, DEFAULT_DATABASE, type DatabaseInfo } from '../store/catalog.js';
import type { KeyChanges } from './keys.js';

/** The control plane of logical databases. */
export class DatabaseService {
  constructor(
    private readonly catalog: Catalog,
    /** Run for every tenant of a dropped database (keys, caches, open connections). */
    private readonly deprovision: (database: string, tenant: string) => Promise<KeyChanges>,
    /** Run before a database is dropped: revoke what only grants it, so a crash midway fails safe. */
    private readonly forgetDatabase: (database: string) => Promise<KeyChanges>,
  ) {}

  /** Idempotent: creating an existing database reports created=false. */
  async create(name: unknown): Promise<{ database: DatabaseInfo; created: boolean }> {
    const valid = parseName('database', name);
    const created = await this.catalog.create(valid);
    const database = this.catalog.list().find((d) => d.name === valid) as DatabaseInfo;
    return { database, created };
  }

  /** Every database, as stored now (on shared storage another process may have created or dropped some). */
  async list(): Promise<DatabaseInfo[]> {
    await this.catalog.reload();
    return this.catalog.list();
  }

  /** Delete a database and all its tenants' data; `default` always exists. Says which API keys lost access. */
  async drop(name: string): Promise<KeyChanges> {
    if (name === DEFAULT_DATABASE) throw new ValidationError(`database '${DEFAULT_DATABASE}' cannot be deleted`, { database: name });
    if (!(await this.catalog.existsNow(name))) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
    const tenants = await this.tenantsOf(name);
    const changes = await this.forgetDatabase(name);
    await this.catalog.drop(name);
    for (const tenant of tenants) {
      const more = await this.deprovision(name, tenant);
      changes.revoked.push(...more.revoked);
      changes.narrowed.push(...more.narrowed.filter((id) => !changes.narrowed.includes(id)));
    }
    return changes;
  }

  private async tenantsOf(name: string): Promise<string[]> {
    await using lease = await this.catalog.forRead(name);
    return lease.database.listTenants();
  }
}
