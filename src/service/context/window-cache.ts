import type { CompiledProgram } from '../../engine/index.js';
import type { TenantStore } from '../../store/tenant-store.js';
import type { ScanResult, ScanSpec } from './candidates.js';
import type { GoalEvidence } from './goals.js';

/** What a window computation read: reusable while the tenant's facts, rules and clock-driven visibility stand still. */
export interface ReusableScan {
  readonly evidence: GoalEvidence;
  readonly spec: ScanSpec;
  readonly scan: ScanResult;
}

interface Entry {
  readonly tenant: TenantStore;
  readonly generation: number;
  readonly program: CompiledProgram | null;
  readonly reusable: ReusableScan;
  /** Identities of the last window built from this scan. */
  selected: ReadonlySet<string>;
}

/** Cached scans kept; each holds a bounded candidate pool, not the tenant's facts. */
const MAX_ENTRIES = 64;

/**
 * Lets a window skip the scan of the tenant when nothing it depends on changed since the last
 * window of the same request:
 * - every fact, scope or rule write of a tenant appends to its event log, which bumps a generation
 *   (so does clearing its keyspace, when the tenant is deleted);
 * - database rules change the compiled program (a new object);
 * - ttl and validity make facts appear or vanish with time: the scan knows the next such instant;
 * - windows raise access counts: harmless only for facts of the window built from this scan (they
 *   only climb, so nothing pruned can overtake them); a count raised elsewhere drops the entry.
 */
export class WindowCache {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new WeakMap<TenantStore, { value: number }>();

  /** The tenant's write generation; the first call subscribes to its event log. */
  generation(tenant: TenantStore): number {
    let counter = this.generations.get(tenant);
    if (counter === undefined) {
      const created = { value: 0 };
      tenant.events.appended.on('event', () => void created.value++);
      // Deleting a tenant clears its keyspace without an event; the same store may then be written anew.
      tenant.sub.on('clear', () => void created.value++);
      this.generations.set(tenant, created);
      counter = created;
    }
    return counter.value;
  }

  get(key: string, tenant: TenantStore, program: CompiledProgram | null, now: number): ReusableScan | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    const change = entry.reusable.scan.nextVisibilityChange;
    if (entry.tenant !== tenant || entry.generation !== this.generation(tenant) || entry.program !== program || (change !== null && now >= change)) {
      this.entries.delete(key);
      return null;
    }
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, entry);
    return entry.reusable;
  }

  put(key: string, tenant: TenantStore, generation: number, program: CompiledProgram | null, reusable: ReusableScan): void {
    this.entries.delete(key);
    this.entries.set(key, { tenant, generation, program, reusable, selected: new Set() });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(oldest);
    }
  }

  /** The window just built from the entry at `key` included these facts (their access counts rise next). */
  selected(key: string, identities: readonly string[]): void {
    const entry = this.entries.get(key);
    if (entry) entry.selected = new Set(identities);
  }

  /** Access counts of a tenant's facts rose: drop the scans of that tenant whose last window lacks one of them. */
  accessed(tenant: TenantStore, identities: readonly string[]): void {
    for (const [key, entry] of this.entries) {
      if (entry.tenant === tenant && identities.some((id) => !entry.selected.has(id))) this.entries.delete(key);
    }
  }
}
