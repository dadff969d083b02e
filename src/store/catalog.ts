import { EventEmitter } from 'node:events';
import { ConflictError, DatabaseDroppingError, NotFoundError, StorageFullError, TooManyOpenDatabasesError, ValidationError } from '../domain/errors.js';
import { databaseRegistryKey, databaseRegistryRange, eventFloorKey } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { databaseShape } from './record-shapes.js';
import type { Durability } from './batch-writer.js';
import { FactDatabase, type TenantHandleLimits } from './fact-database.js';
import type { BackgroundRunner } from './background.js';
import type { VectorIndexes } from './vector-index.js';
import { lastEventSeqOf } from './event-log.js';
import { type LevelDb, SYNC } from './level-types.js';
import { type DatabaseLease, OpenDatabases } from './open-databases.js';
import { isDatabaseGone, isStorageFull } from './storage-errors.js';
import { LevelDirectories, type LevelDirectoryOptions, type StorageBackend } from './storage-backend.js';

export type { DatabaseLease } from './open-databases.js';

export const DEFAULT_DATABASE = 'default';
/** Directory of the registry of databases; not a usable database name. */
export const SYSTEM_DATABASE = '_system';

export interface DatabaseInfo {
  readonly name: string;
  readonly createdAt: number;
}

/** The stored registration: `dropping` is set (durably) before a drop touches the files, so a restart finishes it. */
interface StoredDatabaseInfo extends DatabaseInfo {
  readonly dropping?: boolean;
}

/** Where the databases live: LevelDB directories under `dataDir` (the options of LevelDirectories), or any other backend. */
export type CatalogOptions = CatalogSettings & (LevelDirectoryOptions | { readonly storage: StorageBackend });

interface CatalogSettings {
  readonly durability: Durability;
  /** Only databases created through the admin API exist; writes do not create them. */
  readonly strictDatabases: boolean;
  /** How many databases may be open at once (see file-budget.ts); the least recently used idle one is closed beyond it. */
  readonly maxOpenDatabases?: number;
  /** How long a drop waits for the requests holding the database before giving up with 409 (default 30 s). */
  readonly dropWaitMs?: number;
  /** Failures of background work (closing idle databases, reopening after a full disk). */
  readonly onError?: (error: unknown, context: { database: string; task: string }) => void;
  /** Runs the databases' background work (one runner per process: logged, counted, awaited at shutdown). */
  readonly background?: BackgroundRunner;
  /** Bounds of each database's tenant-handle cache (tests lower them). */
  readonly tenantHandles?: TenantHandleLimits;
  /** Approximate vector indexes of the tenants (vector-index.ts); absent: vector search is always exact. */
  readonly vectorIndexes?: VectorIndexes;
}

function storageOf(options: CatalogOptions): StorageBackend {
  return 'storage' in options ? options.storage : new LevelDirectories(options);
}

/** How often (at most) a full disk is probed again while writes are refused. */
const SPACE_PROBE_MS = 1000;

/**
 * Every logical database: a registry in the _system database, and one level per database (a
 * LevelDB in $VESPER_DATA/<name>/, or a table: storage-backend.ts), opened on demand and closed
 * when idle and room is needed (open-databases.ts).
 */
export class Catalog {
  private readonly registry = new Map<string, DatabaseInfo>();
  /** Names whose drop has started: refused (409) until the drop ends and the name is free again. */
  private readonly dropping = new Set<string>();
  private readonly pool: OpenDatabases;
  private lastProbe = { at: 0, available: true };
  /**
   * Re-emits every database's ('provisioned', database, tenant), ('changed', database): another
   * process changed its tenants, settings or rules, and ('tenant-changed', database, tenant):
   * another process committed to the tenant (shared storage only, seen when a request looks).
   */
  readonly lifecycle = new EventEmitter();

  private constructor(
    private readonly options: CatalogOptions,
    private readonly storage: StorageBackend,
    private readonly system: LevelDb,
  ) {
    this.pool = new OpenDatabases({
      maxOpen: options.maxOpenDatabases ?? 100,
      admit: (name) => this.admit(name),
      open: (name) => this.openDatabase(name),
      spaceAvailable: () => this.spaceAvailable(),
      onError: options.onError ?? (() => undefined),
    });
  }

  static async open(options: CatalogOptions): Promise<Catalog> {
    const storage = storageOf(options);
    const system = storage.level(SYSTEM_DATABASE);
    await system.open();
    const catalog = new Catalog(options, storage, system);
    const unfinished: string[] = [];
    for await (const value of system.values(databaseRegistryRange())) {
      const info = decodeJson(value, databaseShape, 'database registration');
      if (info.dropping) unfinished.push(info.name);
      else catalog.registry.set(info.name, { name: info.name, createdAt: info.createdAt });
    }
    for (const name of unfinished) await catalog.removeFiles(name);
    if (!catalog.registry.has(DEFAULT_DATABASE)) await catalog.create(DEFAULT_DATABASE);
    return catalog;
  }

  /** Several processes may share the storage (FactDatabase.refreshShared, TenantStore.catchUp). */
  get shared(): boolean {
    return this.storage.coordination !== undefined;
  }

  /** The system database, for registries that are not per database (keys, …). */
  get systemLevel(): LevelDb {
    return this.system;
  }

  list(): DatabaseInfo[] {
    return [...this.registry.values()]
      .filter((d) => !this.dropping.has(d.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Shared storage: the registry of databases as stored now, before a listing (another process
   * may have created or dropped some since this one looked). Nothing to do otherwise.
   */
  async reload(): Promise<void> {
    if (!this.storage.coordination) return;
    // What was known before the scan: a name created or learned while it ran is not in it, and stays.
    const before = new Map(this.registry);
    const stored = new Map<string, DatabaseInfo>();
    for await (const value of this.system.values(databaseRegistryRange())) {
      const info = decodeJson(value, databaseShape, 'database registration');
      if (!info.dropping) stored.set(info.name, { name: info.name, createdAt: info.createdAt });
    }
    for (const [name, info] of before) {
      if (!stored.has(name) && this.registry.get(name) === info && !this.dropping.has(name)) this.forgetDropped(name);
    }
    for (const [name, info] of stored) if (!this.registry.has(name)) this.registry.set(name, info);
  }

  exists(name: string): boolean {
    return this.registry.has(name) && !this.dropping.has(name);
  }

  /** exists, as stored now: on shared storage another process may have created or dropped it. */
  async existsNow(name: string): Promise<boolean> {
    if (!this.storage.coordination || name === SYSTEM_DATABASE || this.dropping.has(name)) return this.exists(name);
    const known = this.registry.get(name);
    const info = await this.storedRegistration(name);
    if (info) {
      if (!this.registry.has(name)) this.registry.set(name, info);
      return !this.dropping.has(name);
    }
    // Gone from the storage: forget it, unless this process created it again while the read ran.
    if (known && this.registry.get(name) === known) this.forgetDropped(name);
    return false;
  }

  /** Open handles, their bound, leases held and whether a full disk stopped writes: for /metrics and /ready. */
  stats(): { open: number; maxOpen: number; leases: number; storageFull: boolean } {
    return { open: this.pool.openCount, maxOpen: this.pool.limit, leases: this.pool.leaseCount, storageFull: this.pool.storageFull };
  }

  /** Create a database; returns false if it already existed (create is idempotent). */
  async create(name: string): Promise<boolean> {
    if (name === SYSTEM_DATABASE) throw new ValidationError(`'${SYSTEM_DATABASE}' is a reserved database name`, { field: 'name' });
    if (this.dropping.has(name)) throw new DatabaseDroppingError(name);
    if (this.registry.has(name)) return false;
    const info: DatabaseInfo = { name, createdAt: Date.now() };
    await this.systemWrite(name, () => this.system.put(databaseRegistryKey(name), encodeJson(info), SYNC));
    this.registry.set(name, info);
    return true;
  }

  /** Lease the database for a read: it must exist. Release it (`await using`) when done. */
  async forRead(name: string): Promise<DatabaseLease> {
    return this.leased(name, false);
  }

  /**
   * forRead without waiting, when the database is open in this process and nothing is to be
   * checked first (not on shared storage: there a lease first catches up with other processes).
   * Undefined: call forRead. Release it with `release()`.
   */
  forReadNow(name: string): DatabaseLease | undefined {
    if (this.storage.coordination || this.dropping.has(name)) return undefined;
    return this.pool.acquireNow(name);
  }

  /** Lease the database for a write: created on first write unless databases are strict. */
  async forWrite(name: string): Promise<DatabaseLease> {
    if (this.dropping.has(name)) throw new DatabaseDroppingError(name);
    return this.leased(name, true);
  }

  /**
   * A lease of a database that is current. On shared storage, when another process dropped the
   * database (its storage is gone, or was made again: FactDatabase.refreshShared), the handle is
   * forgotten and the name looked up again, once: a read of a dropped database is then a 404, a
   * write creates it anew unless databases are strict, and a database created again is opened anew.
   */
  private async leased(name: string, write: boolean): Promise<DatabaseLease> {
    for (let attempt = 0; ; attempt++) {
      await this.learn(name);
      if (write && !this.registry.has(name)) {
        if (this.options.strictDatabases) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
        await this.create(name);
      }
      try {
        return await this.fresh(await this.pool.acquire(name));
      } catch (error) {
        if (attempt > 0 || !isDatabaseGone(error)) throw error;
        this.forgetDropped(name);
      }
    }
  }

  /** Shared storage: another process dropped `name`; what this process knew of it goes (see leased). */
  private forgetDropped(name: string): void {
    this.registry.delete(name);
    this.pool.detach(name);
  }

  /** Shared storage: a database this process does not know may have been created by another one since it started. */
  private async learn(name: string): Promise<void> {
    if (!this.storage.coordination || this.registry.has(name) || name === SYSTEM_DATABASE || this.dropping.has(name)) return;
    const info = await this.storedRegistration(name);
    if (info) this.registry.set(name, info);
  }

  /** The registration of `name` as stored now; undefined when there is none or it is being dropped. */
  private async storedRegistration(name: string): Promise<DatabaseInfo | undefined> {
    const stored = await this.system.get(databaseRegistryKey(name));
    if (stored === undefined) return undefined;
    const info = decodeJson(stored, databaseShape, 'database registration');
    return info.dropping ? undefined : { name: info.name, createdAt: info.createdAt };
  }

  /** Shared storage: the leased database catches up with what other processes changed (FactDatabase.refreshShared). */
  private async fresh(lease: DatabaseLease): Promise<DatabaseLease> {
    if (!this.storage.coordination) return lease;
    try {
      await lease.database.refreshShared();
      return lease;
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  /** Visit every registered database in turn, each leased only while visited (start-up recovery, pruning). */
  async eachDatabase(visit: (database: FactDatabase) => Promise<void>): Promise<void> {
    for (const { name } of this.list()) {
      let lease: DatabaseLease;
      try {
        lease = await this.pool.acquire(name);
      } catch (error) {
        if (error instanceof DatabaseDroppingError || error instanceof NotFoundError) continue;
        // One database that cannot open now (full disk, no descriptors) must not stop the others: visited next time.
        if (error instanceof StorageFullError || error instanceof TooManyOpenDatabasesError) {
          this.options.onError?.(error, { database: name, task: 'visit' });
          continue;
        }
        throw error;
      }
      try {
        await visit(lease.database);
      } finally {
        lease.release();
      }
    }
  }

  /**
   * Delete a database. The name is marked as dropping first (new requests get 409); the drop waits
   * for the requests that already hold the database, closes it, reads the highest event number
   * its tenants gave out, then marks it durably together with that number as the name's event
   * floor (a crash from here on finishes the drop at start; a database created again under the
   * name numbers its events above the floor), removes its files and its registration. Nothing
   * else reopens the directory meanwhile: every lease is refused while the name is dropping.
   */
  async drop(name: string): Promise<void> {
    if (this.dropping.has(name)) throw new DatabaseDroppingError(name);
    const info = this.registry.get(name);
    if (!info) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
    this.dropping.add(name);
    try {
      const waitMs = this.options.dropWaitMs ?? 30_000;
      if (!(await this.pool.drain(name, waitMs))) {
        throw new ConflictError(`database '${name}' is still in use by requests that did not finish within ${waitMs} ms; nothing was deleted, retry`, { database: name });
      }
      await this.pool.retire(name);
      const floor = Math.max(await this.eventFloor(name), await this.lastEventSeq(name));
      const marked: StoredDatabaseInfo = { ...info, dropping: true };
      await this.systemWrite(name, () =>
        this.system.batch(
          [
            { type: 'put', key: databaseRegistryKey(name), value: encodeJson(marked) },
            { type: 'put', key: eventFloorKey(name), value: String(floor) },
          ],
          SYNC,
        ),
      );
      await this.removeFiles(name);
    } finally {
      this.dropping.delete(name);
    }
  }

  /** The event floor of a name (0 when no database of that name was dropped). */
  private async eventFloor(name: string): Promise<number> {
    return Number((await this.system.get(eventFloorKey(name))) ?? 0) || 0;
  }

  /**
   * The highest event number of a closed database, read from its files. When they cannot be read
   * (a damaged database being dropped), the clock in ms stands in: no tenant gave out that many numbers.
   */
  private async lastEventSeq(name: string): Promise<number> {
    const level = this.storage.level(name);
    try {
      // Only what is there: reading the floor must not create the storage it is about to delete.
      await level.open({ createIfMissing: false });
      return await lastEventSeqOf(level);
    } catch (error) {
      this.options.onError?.(error, { database: name, task: 'read-event-floor' });
      return Date.now();
    } finally {
      await level.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
    await this.system.close();
  }

  /** Files first, registration last: a crash between leaves the `dropping` mark, and the next start removes what is left. */
  private async removeFiles(name: string): Promise<void> {
    await this.storage.remove(name);
    await this.system.del(databaseRegistryKey(name), SYNC);
    this.registry.delete(name);
  }

  private admit(name: string): void {
    if (this.dropping.has(name)) throw new DatabaseDroppingError(name);
    if (!this.registry.has(name)) throw new NotFoundError(`database '${name}' does not exist`, { database: name });
  }

  private async openDatabase(name: string): Promise<FactDatabase> {
    const level = this.storage.level(name);
    const floor = await this.eventFloor(name);
    const database = await FactDatabase.open(name, level, this.options.durability, {
      background: this.options.background,
      handles: this.options.tenantHandles,
      eventFloor: floor,
      shared: this.storage.coordination ?? null,
      vectorIndexes: this.options.vectorIndexes ?? null,
    }).catch(async (error: unknown) => {
      await level.close().catch(() => undefined);
      throw error;
    });
    database.lifecycle.on('provisioned', (db: string, tenant: string) => this.lifecycle.emit('provisioned', db, tenant));
    database.lifecycle.on('changed', (db: string) => this.lifecycle.emit('changed', db));
    database.lifecycle.on('tenant-changed', (db: string, tenant: string) => this.lifecycle.emit('tenant-changed', db, tenant));
    return database;
  }

  private async systemWrite(database: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isStorageFull(error)) throw new StorageFullError(database, { cause: error });
      throw error;
    }
  }

  /** Probed (statfs on LevelDB) at most once a second while the disk is full: cheap enough to ask on every refused write. */
  private async spaceAvailable(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastProbe.at < SPACE_PROBE_MS) return this.lastProbe.available;
    this.lastProbe = { at: now, available: await this.storage.hasRoom() };
    return this.lastProbe.available;
  }
}
