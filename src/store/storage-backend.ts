import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LevelDb } from './level-types.js';
import { freeBytes } from './storage-errors.js';

/**
 * Where the catalogue keeps each logical database (the system database included): the only part
 * of the catalogue that knows whether a database is a directory or a table.
 */
export interface StorageBackend {
  /** The level of a database by name, made but not opened (FactDatabase opens it; opening creates it when missing). */
  level(name: string): LevelDb;
  /** Delete a database's storage for good; its level is closed. Idempotent: a drop resumed after a crash calls it again. */
  remove(name: string): Promise<void>;
  /**
   * Whether writes may be tried again after one failed on a full disk (the catalogue asks at most
   * once a second, and reopens the database when true).
   */
  hasRoom(): Promise<boolean>;
  /**
   * Present when several Vesper processes may share the storage (PostgreSQL): the store then takes
   * each tenant's write lock across processes and checks what other processes committed before it
   * trusts its caches (fact-database.ts, tenant-store.ts). Absent: this process is the only writer.
   */
  readonly coordination?: SharedCoordination;
}

/** What a storage shared by several processes gives the store: a write lock per tenant that holds across them. */
export interface SharedCoordination {
  /**
   * Run `work` holding the write lock of one tenant of one database in every process on the same
   * storage: two processes never interleave the tenant's read-check-write cycles. The lock is
   * released when `work` settles, or by the storage when this process dies.
   */
  exclusive<T>(database: string, tenant: string, work: () => Promise<T>): Promise<T>;
  /**
   * Run `work` (an import into the tenant) holding the tenant's import lock in every process on the
   * storage, for as long as it runs; the storage releases it when this process dies (pending-imports.ts).
   * `held()` turns false if the lock was lost meanwhile (its connection broke).
   */
  importing<T>(database: string, tenant: string, work: (held: () => boolean) => Promise<T>): Promise<T>;
  /** Run `work` holding the import lock if no process holds it now (no waiting); false, without running it, if one does. */
  unlessImporting(database: string, tenant: string, work: () => Promise<void>): Promise<boolean>;
}

export interface LevelDirectoryOptions {
  readonly dataDir: string;
  /** Opens (without yet calling open()) the abstract-level database at a directory, with LevelDB's table-cache size. */
  readonly openLevel: (location: string, options: { maxOpenFiles: number }) => LevelDb;
  /** LevelDB `max_open_files` per database. */
  readonly maxOpenFiles?: number;
  /** Free bytes under the data directory (statfs); injectable for tests of a full disk. */
  readonly freeBytes?: (dir: string) => Promise<number>;
  /** Below this many free bytes the disk counts as full for reopening after ENOSPC (default 4 MiB). */
  readonly minFreeBytes?: number;
}

/** The embedded default: one LevelDB directory per database, $VESPER_DATA/<name>/. */
export class LevelDirectories implements StorageBackend {
  constructor(private readonly options: LevelDirectoryOptions) {}

  level(name: string): LevelDb {
    return this.options.openLevel(join(this.options.dataDir, name), { maxOpenFiles: this.options.maxOpenFiles ?? 1000 });
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.options.dataDir, name), { recursive: true, force: true, maxRetries: 3 });
  }

  async hasRoom(): Promise<boolean> {
    const probe = this.options.freeBytes ?? freeBytes;
    const free = await probe(this.options.dataDir).catch(() => 0);
    return free >= (this.options.minFreeBytes ?? 4 * 1024 * 1024);
  }
}
