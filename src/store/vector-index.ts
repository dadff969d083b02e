import { Index, MetricKind, ScalarKind } from 'usearch';
import type { CachedVector } from './vector-cache.js';

/**
 * How the approximate vector indexes are kept (config.ts VESPER_ANN_*). The index is HNSW from
 * usearch 2.21.4 (N-API prebuilds in its npm tarball: nothing compiled or downloaded at install,
 * Node ≥ 12.17). It is derived state, in memory only: the stored embeddings stay the truth, an
 * index is rebuilt from them after a restart, and every answer is checked against them.
 */
export interface VectorIndexOptions {
  /** Vectors a layer must hold before it gets an index; below it, search compares every vector. */
  readonly threshold: number;
  /** Tenants whose indexes are kept in memory at once; the least recently searched one loses its indexes beyond it. */
  readonly maxTenants: number;
  /** HNSW graph degree (usearch `connectivity`). */
  readonly connectivity: number;
  /** Candidates kept while inserting (usearch `expansion_add`): graph quality against build time. */
  readonly expansionAdd: number;
  /** Candidates kept while searching (usearch `expansion_search`); a search asks for at least this many anyway. */
  readonly expansionSearch: number;
  /** Candidates asked of the index per vector wanted: some are hidden, replaced or retracted, and all are re-scored exactly. */
  readonly overFetch: number;
  /** Most native work per event-loop turn while an index is filled: requests run between the slices. */
  readonly sliceMs: number;
}

/** Vectors added per native call inside a slice: a call of 8 takes ~3 ms at 384 dimensions on this machine. */
const ADD_BATCH = 8;

/**
 * The approximate index of one layer's vectors. It follows the layer's live map of decoded
 * vectors (vector-cache.ts, kept exact by the commits): a commit that changes a fact's vector only
 * marks the fact `pending`; a background drain, slice by slice, adds pending vectors to the graph
 * (removing the label of a replaced one). A search answers the index's candidates plus every
 * pending vector, each with the vector the layer holds now, so a fact written a moment ago is
 * found and a removed one never answered, whatever the graph still holds.
 */
export class LayerVectorIndex {
  private readonly index: Index;
  /** label → the fact (vector-cache group) it was added for. */
  private readonly groups: string[] = [];
  /** The current label of each indexed fact. */
  private readonly labels = new Map<string, number>();
  /** Facts whose vector in the layer is not (or no longer) the one the graph holds: searched exactly. */
  private readonly pending = new Set<string>();
  /** Facts whose vector has no direction (norm 0): cosine is undefined for the graph, so they are always compared exactly. */
  private readonly flat = new Set<string>();
  /** Filled once: until then the layer is searched exactly (the caller's fallback). */
  private filled = false;
  private closed = false;
  private draining = false;
  /** Labels removed from the graph (replaced or deleted vectors): HNSW keeps their nodes, which wears the graph. */
  private removed = 0;

  constructor(
    readonly dimensions: number,
    private readonly live: ReadonlyMap<string, CachedVector>,
    private readonly options: VectorIndexOptions,
    /** Runs one slice of filling later (a background task); false when no more can be run (shutdown). */
    private readonly schedule: (slice: () => Promise<void>) => boolean,
  ) {
    this.index = new Index({
      dimensions,
      metric: MetricKind.Cos,
      // Half the memory of f32; candidates are re-scored with the stored Float32 vectors anyway.
      quantization: ScalarKind.F16,
      connectivity: options.connectivity,
      expansion_add: options.expansionAdd,
      expansion_search: options.expansionSearch,
      multi: false,
    });
    for (const group of live.keys()) this.pending.add(group);
    this.kick();
  }

  /** Ready to answer: the first fill is done (later changes are pending until drained). */
  get ready(): boolean {
    return this.filled && !this.closed;
  }

  /** Vectors in the graph (labels of replaced vectors included until removed). */
  get size(): number {
    return this.labels.size;
  }

  /** Facts compared exactly at each search (changed since the graph learnt them). */
  get backlog(): number {
    return this.pending.size + this.flat.size;
  }

  /** More removed labels than live ones: the graph is worth rebuilding (vector-cache.ts does it beside this one). */
  get worn(): boolean {
    return this.removed > Math.max(1000, this.labels.size);
  }

  /** A commit changed (or removed) a fact's vector in this layer. */
  changed(group: string): void {
    if (this.closed) return;
    this.flat.delete(group);
    this.pending.add(group);
    this.kick();
  }

  close(): void {
    this.closed = true;
  }

  /**
   * The layer's vectors most likely nearest to the query: `count` asked of the graph (at least
   * `expansionSearch`), then every pending vector. Each comes from the live map (the graph may hold
   * an older vector of it, or one since removed); the caller scores them exactly.
   */
  candidates(query: Float32Array, count: number): CachedVector[] {
    const out: CachedVector[] = [];
    const size = this.labels.size;
    if (size > 0) {
      const matches = this.index.search(query, Math.min(size, Math.max(count, this.options.expansionSearch)), 1);
      for (const key of matches.keys) {
        const label = Number(key);
        const group = this.groups[label];
        if (group === undefined || this.labels.get(group) !== label || this.pending.has(group)) continue;
        const cached = this.live.get(group);
        if (cached !== undefined) out.push(cached);
      }
    }
    for (const group of this.pending) {
      const cached = this.live.get(group);
      if (cached !== undefined) out.push(cached);
    }
    for (const group of this.flat) {
      const cached = this.live.get(group);
      if (cached !== undefined) out.push(cached);
    }
    return out;
  }

  /** Start draining unless a drain is under way (one at a time: the graph is not shared across threads here). */
  private kick(): void {
    if (this.draining || this.closed || this.pending.size === 0) return;
    this.draining = true;
    const started = this.schedule(() => this.slice());
    if (!started) this.draining = false;
  }

  /** Add pending vectors for at most `sliceMs`, then hand the event loop back and schedule the next slice. */
  private async slice(): Promise<void> {
    const started = performance.now();
    try {
      while (!this.closed && this.pending.size > 0 && performance.now() - started < this.options.sliceMs) {
        const keys: bigint[] = [];
        const vectors: Float32Array[] = [];
        for (const group of this.pending) {
          if (keys.length >= ADD_BATCH) break;
          this.pending.delete(group);
          const old = this.labels.get(group);
          if (old !== undefined) {
            this.index.remove(BigInt(old));
            this.labels.delete(group);
            this.removed++;
          }
          const cached = this.live.get(group);
          if (cached === undefined) continue; // removed from the layer: nothing to add
          if (cached.norm === 0 || cached.vector.length !== this.dimensions) {
            this.flat.add(group);
            continue;
          }
          const label = this.groups.length;
          this.groups.push(group);
          this.labels.set(group, label);
          keys.push(BigInt(label));
          vectors.push(cached.vector);
        }
        if (keys.length > 0) this.index.add(BigUint64Array.from(keys), vectors, 1);
      }
    } finally {
      this.draining = false;
    }
    if (this.closed) return;
    if (this.pending.size === 0) this.filled = true;
    // The next slice is a new task on a later turn, not awaited here: between slices nothing runs,
    // so a database closing or the server stopping waits for one slice, never for a whole build.
    else setImmediate(() => this.kick());
  }
}

/** Counts for /metrics. */
export interface VectorIndexStats {
  readonly tenants: number;
  readonly ready: number;
  readonly building: number;
  readonly vectors: number;
  readonly approximateSearches: number;
  readonly exactSearches: number;
}

/** What the registry keeps of one tenant's indexes. */
export interface IndexedTenant {
  /** Close every index of the tenant (it was evicted, or its handle replaced). */
  release(): void;
  readonly indexes: () => Iterable<LayerVectorIndex>;
}

/**
 * The process's approximate indexes, per tenant, least recently searched last: beyond
 * `maxTenants` the oldest tenant's indexes are closed (its searches go back to comparing every
 * vector, and a later search starts a new build). Memory is bounded by that cap times the largest
 * indexes (about 1 KB per 384-dimension vector at f16 with connectivity 16).
 */
export class VectorIndexes {
  private readonly tenants = new Map<string, IndexedTenant>();
  private approximate = 0;
  private exact = 0;

  constructor(readonly options: VectorIndexOptions) {}

  /** The tenant searched (or built) an index now: it becomes the most recent; evicts beyond the cap. */
  touch(key: string, tenant: IndexedTenant): void {
    const held = this.tenants.get(key);
    if (held !== undefined && held !== tenant) held.release();
    this.tenants.delete(key);
    this.tenants.set(key, tenant);
    while (this.tenants.size > Math.max(1, this.options.maxTenants)) {
      const [oldest, entry] = this.tenants.entries().next().value as [string, IndexedTenant];
      this.tenants.delete(oldest);
      entry.release();
    }
  }

  /** Whether the tenant still holds its place (not evicted since). */
  holds(key: string, tenant: IndexedTenant): boolean {
    return this.tenants.get(key) === tenant;
  }

  forget(key: string, tenant: IndexedTenant): void {
    if (this.tenants.get(key) === tenant) this.tenants.delete(key);
  }

  counted(path: 'approximate' | 'exact'): void {
    if (path === 'approximate') this.approximate++;
    else this.exact++;
  }

  stats(): VectorIndexStats {
    let ready = 0;
    let building = 0;
    let vectors = 0;
    for (const tenant of this.tenants.values()) {
      for (const index of tenant.indexes()) {
        if (index.ready) ready++;
        else building++;
        vectors += index.size;
      }
    }
    return { tenants: this.tenants.size, ready, building, vectors, approximateSearches: this.approximate, exactSearches: this.exact };
  }
}
