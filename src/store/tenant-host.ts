import type { AbstractSnapshot } from 'abstract-level';
import type { BackgroundRunner } from './background.js';
import type { BatchOp, LevelSublevel } from './level-types.js';
import type { TenantRanges } from './range-cache.js';
import type { SharedCoordination } from './storage-backend.js';
import type { VectorIndexes } from './vector-index.js';

/** Bounds of the tenant-handle cache of a database. */
export interface TenantHandleLimits {
  /** Handles kept at most (more only while all of them are in use). */
  readonly max: number;
  /** A handle unused for less than this is never dropped (a request may still hold it). */
  readonly idleMs: number;
}

/** What a database is opened with besides its level and durability (defaults: its own runner, no sharing, exact vector search). */
export interface DatabaseOptions {
  readonly background?: BackgroundRunner;
  readonly handles?: TenantHandleLimits;
  /** See EventLog: the highest event number of a dropped database of this name (0: none). */
  readonly eventFloor?: number;
  readonly shared?: SharedCoordination | null;
  readonly vectorIndexes?: VectorIndexes | null;
}

/** What the tenant store needs from its database. */
export interface TenantHost {
  readonly database: string;
  /** The database's META sublevel (event counters and the retired-layer journal live there). */
  readonly meta: LevelSublevel;
  readonly background: BackgroundRunner;
  /** Event numbers given out by a dropped database of the same name: every tenant's log starts above them. */
  readonly eventFloor: number;
  /** Several processes share the storage: every commit stamps the tenant, and caches are checked against the stamp. */
  readonly shared: boolean;
  /**
   * Shared storage: another process committed to the tenant since this one last looked (caches above
   * the store drop theirs). Throws (409) when that process has started an import into the tenant.
   */
  changedElsewhere?(tenant: string): Promise<void> | void;
  /** Run `work` holding the tenant's write lock across processes (shared storage), or just run it. */
  exclusive<T>(tenant: string, work: () => Promise<T>): Promise<T>;
  /**
   * Before a request reads or writes the tenant: null when nothing is to be done, else a wait that
   * undoes an import another process left unfinished, or refuses while it runs (pending-imports.ts).
   */
  settleImport?(tenant: string): Promise<void> | null;
  /** One atomic batch. */
  write(ops: BatchOp[]): Promise<void>;
  /** Ops registering the tenant if this is its first write (empty otherwise). */
  registrationOps(tenant: string): BatchOp[];
  /** Called once the registration ops were committed. */
  registered(tenant: string): void;
  /** An explicit snapshot of the database now, or null when the backend has none. */
  snapshot(): AbstractSnapshot | null;
  /** The tenant's share of the exact range cache (range-cache.ts), shared by every handle of the tenant; none: no cache. */
  ranges?(tenant: string): TenantRanges;
  /** The process's approximate vector indexes (vector-index.ts); none: vector search is always exact. */
  readonly vectorIndexes?: VectorIndexes;
}
