import type { AbstractSnapshot } from 'abstract-level';
import type { BackgroundRunner } from './background.js';
import type { BatchOp, LevelSublevel } from './level-types.js';
import type { TenantRanges } from './range-cache.js';

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
  /** Shared storage: another process committed to the tenant since this one last looked (caches above the store drop theirs). */
  changedElsewhere?(tenant: string): void;
  /** Run `work` holding the tenant's write lock across processes (shared storage), or just run it. */
  exclusive<T>(tenant: string, work: () => Promise<T>): Promise<T>;
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
}
