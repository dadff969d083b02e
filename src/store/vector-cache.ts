import type { FactKey } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { CorruptionError } from '../domain/errors.js';
import { decodeVector, decodeVectorKey, vectorRange } from '../encoding/retrieval-keys.js';
import { type KeyspaceReader, scanRange } from './level-types.js';

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

  apply(updates: readonly VectorUpdate[]): void {
    for (const u of updates) {
      this.touched.set(u.layer, (this.touched.get(u.layer) ?? 0) + 1);
      const layer = this.layers.get(u.layer);
      if (!layer) continue;
      if (u.vector === null) layer.delete(u.group);
      else layer.set(u.group, { group: u.group, key: u.key, vector: u.vector, norm: normOf(u.vector) });
    }
  }

  drop(layer: LayerId): void {
    this.layers.delete(layer);
    this.touched.set(layer, (this.touched.get(layer) ?? 0) + 1);
  }

  clear(): void {
    for (const layer of [...this.layers.keys()]) this.drop(layer);
  }
}
