import { parseName } from '../domain/names.js';
import type { Catalog, DatabaseInfo } from '../store/catalog.js';

/** The control plane of logical databases. */
export class DatabaseService {
  constructor(private readonly catalog: Catalog) {}

  /** Idempotent: creating an existing database reports created=false. */
  async create(name: unknown): Promise<{ database: DatabaseInfo; created: boolean }> {
    const valid = parseName('database', name);
    const created = await this.catalog.create(valid);
    const database = this.catalog.list().find((d) => d.name === valid) as DatabaseInfo;
    return { database, created };
  }

  list(): DatabaseInfo[] {
    return this.catalog.list();
  }
}
