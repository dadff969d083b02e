import type { FactKey } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { CorruptionError } from '../domain/errors.js';
import { decodeVector, decodeVectorKey, vectorRange } from '../encoding/retrieval-keys.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import type { BackgroundRunner } from './background.js';
import type { VectorSource } from './retrieval-reader.js';
import { type IndexedTenant, LayerVectorIndex, type VectorIndexes } from './vector-index.js';

/** A vector of one fact in one layer. */
export interface CachedVector {
  /** The text naming the fact (equal across layers): a chain of several layers counts a fact once. */
  readonly group: string;
  readonly key: FactKey;
  readonly vector: Float32Array;
  /** Its Euclidean norm, computed once (cosine needs it on every query). */
  readonly norm: number;
}

function normOf(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) * (v[i] as number);
  return Math.sqrt(sum);
}

export type LayerVectors = ReadonlyMap<string, CachedVector>;

/** What a commit changed: the fact's vector in a layer (null: it has none there any more). */
export interface VectorUpdate {
  readonly layer: LayerId;
  readonly group: string;
  readonly key: FactKey;
  readonly vector: Float32Array | null;
}

/** The tenant's share of the process's approximate indexes (vector-index.ts). */
export interface ApproximateIndexing {
  readonly indexes: VectorIndexes;
  /** The tenant's key in the registry (database and tenant). */
  readonly key: string;
  /** Run one slice of an index's filling as a background task (false: shutting down). */
  readonly schedule: (slice: () => Promise<void>) => boolean;
}

/**
 * The decoded embeddings of a tenant's layers, in memory: exact vector search compares the query
 * with every vector of the view, and decoding them from the store on each query would cost more
 * than comparing. Loaded per layer on first use from the committed state, then kept exact by the
 * commits (`apply`, after their batch is written); a load that a commit overlapped is used once
 * and not kept. Retired layers and a cleared tenant are dropped.
 */
export class VectorCache {
  private readonly layers = new Map<LayerId, Map<string, CachedVector>>();
  /** Commits that touched a layer, to tell whether a load overlapped one. */
  private readonly touched = new Map<LayerId, number>();
  /** Approximate indexes of the layers holding at least the threshold's number of vectors. */
  private readonly indexed = new Map<LayerId, LayerVectorIndex>();
  /** A fresh index being filled beside a worn one (many vectors replaced or removed), which answers until it is ready. */
  private readonly replacing = new Map<LayerId, LayerVectorIndex>();
  private readonly registered: IndexedTenant = { release: () => this.releaseIndexes(), indexes: () => [...this.indexed.values(), ...this.replacing.values()] };

  constructor(private readonly approximate: ApproximateIndexing | null = null) {}

  /** A tenant's cache, with approximate indexes when the process keeps them (null: exact search only), filled by background tasks. */
  static forTenant(indexes: VectorIndexes | null, database: string, tenant: string, background: BackgroundRunner): VectorCache {
    if (indexes === null) return new VectorCache();
    return new VectorCache({ indexes, key: `${database}\u0000${tenant}`, schedule: (slice) => background.run('fill-vector-index', { database, tenant }, slice) });
  }

  /** What readers search with: this cache over the committed state (`current`). */
  source(current: KeyspaceReader): VectorSource {
    return {
      vectorsOf: (layer) => this.layer(current, layer),
      indexOf: (layer, vectors) => this.indexOf(layer, vectors),
      overFetch: this.approximate?.indexes.options.overFetch ?? 1,
    };
  }

  async layer(keyspace: KeyspaceReader, layer: LayerId): Promise<LayerVectors> {
    const cached = this.layers.get(layer);
    if (cached) return cached;
    const before = this.touched.get(layer) ?? 0;
    const loaded = new Map<string, CachedVector>();
    for await (const [raw, value] of scanRange(keyspace, vectorRange(layer))) {
      const { key, group } = decodeVectorKey(raw);
      const vector = decodeVector(value);
      if (vector === null) throw new CorruptionError('fact embedding', raw);
      loaded.set(group, { group, key, vector, norm: normOf(vector) });
    }
    if ((this.touched.get(layer) ?? 0) === before && !this.layers.has(layer)) this.layers.set(layer, loaded);
    return this.layers.get(layer) ?? loaded;
  }

  /**
   * The approximate index of a layer whose vectors are `vectors` (what `layer()` gave), when it
   * is ready; null: search the layer exactly. A layer of at least the threshold's number of
   * vectors gets an index on its first search, filled in the background meanwhile.
   */
  indexOf(layer: LayerId, vectors: LayerVectors): LayerVectorIndex | null {
    const approximate = this.approximate;
    const live = this.layers.get(layer);
    // A load a commit overlapped is not kept: nothing follows it, so nothing may index it.
    if (approximate === null || live === undefined || live !== vectors) return null;
    let index = this.indexed.get(layer);
    if (index === undefined) {
      const first = live.values().next().value as CachedVector | undefined;
      if (first === undefined || live.size < approximate.indexes.options.threshold) {
        approximate.indexes.counted('exact');
        return null;
      }
      index = new LayerVectorIndex(first.vector.length, live, approximate.indexes.options, approximate.schedule);
      this.indexed.set(layer, index);
    }
    const fresh = this.replacing.get(layer);
    if (fresh?.ready) {
      index.close();
      index = fresh;
      this.indexed.set(layer, fresh);
      this.replacing.delete(layer);
    } else if (fresh === undefined && index.ready && index.worn) {
      this.replacing.set(layer, new LayerVectorIndex(index.dimensions, live, approximate.indexes.options, approximate.schedule));
    }
    approximate.indexes.touch(approximate.key, this.registered);
    approximate.indexes.counted(index.ready ? 'approximate' : 'exact');
    return index.ready ? index : null;
  }

  apply(updates: readonly VectorUpdate[]): void {
    for (const u of updates) {
      this.touched.set(u.layer, (this.touched.get(u.layer) ?? 0) + 1);
      const layer = this.layers.get(u.layer);
      if (!layer) continue;
      if (u.vector === null) layer.delete(u.group);
      else layer.set(u.group, { group: u.group, key: u.key, vector: u.vector, norm: normOf(u.vector) });
      this.indexed.get(u.layer)?.changed(u.group);
      this.replacing.get(u.layer)?.changed(u.group);
    }
  }

  drop(layer: LayerId): void {
    this.layers.delete(layer);
    this.touched.set(layer, (this.touched.get(layer) ?? 0) + 1);
    this.indexed.get(layer)?.close();
    this.indexed.delete(layer);
    this.replacing.get(layer)?.close();
    this.replacing.delete(layer);
  }

  clear(): void {
    for (const layer of [...this.layers.keys()]) this.drop(layer);
    this.releaseIndexes();
    if (this.approximate) this.approximate.indexes.forget(this.approximate.key, this.registered);
  }

  /** The registry evicted the tenant (or a newer handle of it took its place): its indexes go. */
  private releaseIndexes(): void {
    for (const index of [...this.indexed.values(), ...this.replacing.values()]) index.close();
    this.indexed.clear();
    this.replacing.clear();
  }
}
