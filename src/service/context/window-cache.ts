import type { CompiledProgram } from '../../engine/index.js';
import type { TenantStore } from '../../store/tenant-store.js';
import { type WriteRecord, watchWrites } from '../../store/write-watcher.js';
import type { ScanResult, ScanSpec } from './candidates.js';
import type { GoalEvidence } from './goals.js';

/** What a window computation read: reusable while the tenant's rules and clock-driven visibility stand still, and caught up with its writes. */
export interface ReusableScan {
  evidence: GoalEvidence;
  spec: ScanSpec;
  readonly scan: ScanResult;
}

export interface CacheEntry {
  readonly tenant: TenantStore;
  /** The tenant's write generation the entry is exact at. */
  generation: number;
  /** False when writes landed while the pass ran: it cannot tell which of them it saw, so it only serves an unchanged tenant. */
  readonly catchesUp: boolean;
  readonly program: CompiledProgram | null;
  readonly reusable: ReusableScan;
  /** Identities of the last window built from this entry. */
  selected: ReadonlySet<string>;
  /** Facts whose access count rose in another window since the entry was last caught up: score them again. */
  readonly accessed: Set<string>;
  /** Its share of the cache's memory bound (see weightOf). */
  readonly weight: number;
}

/** A cached entry and the writes it has not seen yet (none, and no fact accessed elsewhere: use it as it is). */
export interface CacheHit {
  readonly entry: CacheEntry;
  readonly writes: readonly WriteRecord[];
}

/**
 * Cached scans kept; each holds a bounded candidate pool, not the tenant's facts. The count is
 * above the tenants a server typically serves windows for at once (a workload of 100 tenants
 * behind a bound of 64 missed a third of its windows, each miss a pass over a whole tenant); the
 * memory is bounded by the candidates held in all.
 */
const MAX_ENTRIES = 1024;
/** Candidates (and remembered invisible records) held by all cached scans together at most. */
const MAX_HELD = 262_144;

/** What an entry holds in memory, in candidates, as it was put. */
const weightOf = (reusable: ReusableScan) => reusable.scan.pool.held + (reusable.scan.invisible?.size ?? 0) + 1;

/** Facts accessed elsewhere an entry remembers to score again at most (past it, the entry is dropped). */
const MAX_ACCESSED = 4096;

/**
 * Lets a window skip the scan of the tenant when nothing it depends on changed since the last
 * window of the same request, or when what changed were fact writes it can apply (incremental.ts):
 * - every fact, scope or rule write of a tenant appends to its event log, which the tenant's
 *   write watch counts and remembers (so does clearing its keyspace, when the tenant is deleted);
 * - database rules change the compiled program (a new object);
 * - ttl and validity make facts appear or vanish with time: the scan knows the next such instant;
 * - windows raise access counts: harmless for facts of the window built from this scan (they only
 *   climb, so nothing pruned can overtake them); facts a window of another request included are
 *   scored again when the entry is next caught up (a pruned one may now overtake).
 */
export class WindowCache {
  private readonly entries = new Map<string, CacheEntry>();
  private held = 0;

  /** The tenant's write generation; the first call subscribes to its event log. */
  generation(tenant: TenantStore): number {
    return watchWrites(tenant).generation;
  }

  get(key: string, tenant: TenantStore, program: CompiledProgram | null, now: number): CacheHit | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    const change = entry.reusable.scan.nextVisibilityChange;
    const writes = watchWrites(tenant).since(entry.generation);
    const usable = entry.tenant === tenant && entry.program === program && (change === null || now < change);
    if (!usable || writes === null || ((writes.length > 0 || entry.accessed.size > 0) && !entry.catchesUp)) {
      this.remove(key, entry);
      return null;
    }
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, entry);
    return { entry, writes };
  }

  /** The writes an entry has not seen yet, if it is still the cached one for its key and they are all remembered. */
  pending(key: string, entry: CacheEntry): readonly WriteRecord[] | null {
    if (this.entries.get(key) !== entry) return null;
    return watchWrites(entry.tenant).since(entry.generation);
  }

  put(key: string, tenant: TenantStore, generation: number, catchesUp: boolean, program: CompiledProgram | null, reusable: ReusableScan): void {
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    const weight = weightOf(reusable);
    this.entries.set(key, { tenant, generation, catchesUp, program, reusable, selected: new Set(), accessed: new Set(), weight });
    this.held += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= MAX_ENTRIES && this.held <= MAX_HELD) break;
      this.remove(oldest, entry);
    }
  }

  drop(key: string, entry: CacheEntry): void {
    if (this.entries.get(key) === entry) this.remove(key, entry);
  }

  private remove(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.held -= entry.weight;
  }

  /** The window just built from the entry at `key` included these facts (their access counts rise next). */
  selected(key: string, identities: readonly string[]): void {
    const entry = this.entries.get(key);
    if (entry) entry.selected = new Set(identities);
  }

  /** Access counts of a tenant's facts rose (under its write lock): the scans of that tenant whose last window lacks one of them score them again. */
  accessed(tenant: TenantStore, identities: readonly string[]): void {
    for (const [key, entry] of this.entries) {
      if (entry.tenant !== tenant) continue;
      for (const id of identities) if (!entry.selected.has(id)) entry.accessed.add(id);
      if (entry.accessed.size > MAX_ACCESSED) this.remove(key, entry);
    }
  }
}
