import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { databaseRegistryKey, databaseRegistryRange } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { type Durability, FactDatabase } from './fact-database.js';
import type { LevelDb } from './level-types.js';

export const DEFAULT_DATABASE = 'default';
/** Directory of the registry of databases; not a usable database name. */
export const SYSTEM_DATABASE = '_system';

export interface DatabaseInfo {
  readonly name: string;
  readonly createdAt: number;
}

export interface CatalogOptions {
  readonly dataDir: string;
  readonly durability: Durability;
  /** Only databases created through the admin API exist; writes do not create them. */
  readonly strictDatabases: boolean;
  /** Opens (without yet calling open()) the abstract-level database at a directory. */
  readonly openLevel: (location: string) => LevelDb;
}

/**
 * Every logical database: a registry in the _system database, and one LevelDB per database in
 * $VESPER_DATA/<name>/, opened on first use and kept open until shutdown.
 */
export class Catalog {
  private readonly registry = new Map<string, DatabaseInfo>();
  private readonly open = new Map<string, Promise<FactDatabase>>();
  /** Re-emits every database's ('provisioned', database, tenant). */
  readonly lifecycle = new EventEmitter();

  private constructor(
    private readonly options: CatalogOptions,
    private readonly system: LevelDb,
  ) {}

  static async open(options: CatalogOptions): Promise<Catalog> {
    const system = options.openLevel(join(options.dataDir, SYSTEM_DATABASE));
    await system.open();
    const catalog = new Catalog(options, system);
    for await (const value of system.values(databaseRegistryRange())) {
      const info = decodeJson<DatabaseInfo>(value);
      catalog.registry.set(info.name, info);
    }
    if (!catalog.registry.has(DEFAULT_DATABASE)) await catalog.create(DEFAULT_DATABASE);
    return catalog;
  }

  /** The system database, for registries that are not per database (keys, …). */
  get systemLevel(): LevelDb {
    return this.system;
  }

  list(): DatabaseInfo[] {
    return [...this.registry.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  exists(name: string): boolean {
    return this.registry.has(name);
  }

  /** Create a database; returns false if it already existed (create is idempotent). */
  async create(name: string): Promise<boolean> {
    if (name === SYSTEM_DATABASE) throw new ValidationError(`'${SYSTEM_DATABASE}' is a reserved database name`, { field: 'name' });
    if (this.registry.has(name)) return false;
    const info: DatabaseInfo = { name, createdAt: Date.now() };
    await this.system.put(databaseRegistryKey(name), encodeJson(info), { sync: true } as never);
    this.registry.set(name, info);
    return true;
  }

  /** The database for a read: it must exist. */
  async forRead(name: string): Promise<FactDatabase> {
    if (!this.registry.has(name)) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
    return this.handle(name);
  }

  /** The database for a write: created on first write unless databases are strict. */
  async forWrite(name: string): Promise<FactDatabase> {
    if (!this.registry.has(name)) {
      if (this.options.strictDatabases) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
      await this.create(name);
    }
    return this.handle(name);
  }

  private handle(name: string): Promise<FactDatabase> {
    let opening = this.open.get(name);
    if (!opening) {
      const level = this.options.openLevel(join(this.options.dataDir, name));
      opening = FactDatabase.open(name, level, this.options.durability).then((database) => {
        database.lifecycle.on('provisioned', (db: string, tenant: string) => this.lifecycle.emit('provisioned', db, tenant));
        return database;
      });
      opening.catch(() => this.open.delete(name));
      this.open.set(name, opening);
    }
    return opening;
  }

  /** Open every registered database (recovery work at start). */
  async openAll(): Promise<FactDatabase[]> {
    return Promise.all(this.list().map((d) => this.handle(d.name)));
  }

  /** Delete a database: close it, remove its files, then its registration (a crash between leaves it empty, not half there). */
  async drop(name: string): Promise<void> {
    const opening = this.open.get(name);
    this.open.delete(name);
    if (opening) await (await opening).close();
    await rm(join(this.options.dataDir, name), { recursive: true, force: true });
    await this.system.del(databaseRegistryKey(name), { sync: true } as never);
    this.registry.delete(name);
  }

  async close(): Promise<void> {
    const handles = await Promise.allSettled([...this.open.values()]);
    await Promise.all(handles.map((h) => (h.status === 'fulfilled' ? h.value.close() : undefined)));
    this.open.clear();
    await this.system.close();
  }
}
