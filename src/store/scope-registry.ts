import { MAIN_SCOPE } from '../domain/fact.js';
import { counterKey, layerCountKey, layerCountRange, layerOfCountKey, scopeKey, scopeRange } from '../encoding/control-keys.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { type BatchOp, type LevelSublevel, scanRange } from './level-types.js';

/**
 * A scope is a chain of layers, nearest first. Only the first layer is written; the others are
 * frozen (shared with the scopes forked from the same point). A layer below which nothing lies
 * (the last of a chain) is a root layer; every other layer also lists its facts (L keys), so
 * diff and merge can read what changed without scanning what did not.
 */
export interface ScopeRecord {
  readonly name: string;
  readonly base: string | null;
  readonly chain: readonly LayerId[];
  readonly createdAt: number;
  /** Per source scope merged into this one: the source's chain at that merge, the base of the next. */
  readonly merges?: Readonly<Record<string, readonly LayerId[]>>;
}

const LAYER_COUNTER = 'layer';

export class ScopeRegistry {
  private readonly scopes = new Map<string, ScopeRecord>();
  private nextLayer = 0;
  /** Scope records not yet persisted (main of a tenant that has never been written). */
  private readonly unsaved = new Set<string>();
  /**
   * Per layer: how many facts its writes added to (or removed from) the chain it topped. A layer
   * is written only while it is the top of one chain, so a scope's fact count is the sum over its chain.
   */
  private readonly deltas = new Map<LayerId, number>();
  private readonly unsavedDeltas = new Set<LayerId>();

  private constructor(private readonly sub: LevelSublevel) {}

  static async load(sub: LevelSublevel, now: number): Promise<ScopeRegistry> {
    const registry = new ScopeRegistry(sub);
    for await (const [, value] of scanRange(sub, scopeRange())) {
      const record = decodeJson<ScopeRecord>(value);
      registry.scopes.set(record.name, record);
    }
    const counter = await sub.get(counterKey(LAYER_COUNTER));
    registry.nextLayer = counter === undefined ? 0 : Number(counter);
    for await (const [key, value] of scanRange(sub, layerCountRange())) registry.deltas.set(layerOfCountKey(key), Number(value));
    if (!registry.scopes.has(MAIN_SCOPE)) registry.createRoot(MAIN_SCOPE, now);
    return registry;
  }

  get(name: string): ScopeRecord | undefined {
    return this.scopes.get(name);
  }

  has(name: string): boolean {
    return this.scopes.has(name);
  }

  all(): ScopeRecord[] {
    return [...this.scopes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A new scope over nothing (the tenant's main, or a scope first named by a write). */
  createRoot(name: string, now: number): ScopeRecord {
    const record: ScopeRecord = { name, base: null, chain: [this.nextLayer++], createdAt: now };
    this.scopes.set(name, record);
    this.unsaved.add(name);
    return record;
  }

  /** Replace a scope's record in memory; the caller commits `flush()` ops in the same batch. */
  put(record: ScopeRecord): void {
    this.scopes.set(record.name, record);
    this.unsaved.add(record.name);
  }

  remove(name: string): BatchOp {
    this.scopes.delete(name);
    this.unsaved.delete(name);
    return { type: 'del', key: scopeKey(name), sublevel: this.sub };
  }

  /** Record that writes to a layer changed its chain's fact count; persisted by the next flush. */
  adjustCount(layer: LayerId, delta: number): void {
    if (delta === 0) return;
    this.deltas.set(layer, (this.deltas.get(layer) ?? 0) + delta);
    this.unsavedDeltas.add(layer);
  }

  /** Facts in a chain (expired facts count until they are retracted). */
  countOf(chain: readonly LayerId[]): number {
    let total = 0;
    for (const layer of chain) total += this.deltas.get(layer) ?? 0;
    return total;
  }

  dropLayerCount(layer: LayerId): BatchOp {
    this.deltas.delete(layer);
    this.unsavedDeltas.delete(layer);
    return { type: 'del', key: layerCountKey(layer), sublevel: this.sub };
  }

  allocateLayer(): LayerId {
    return this.nextLayer++;
  }

  /** Ops that persist every in-memory change; written in the same batch as the facts they serve. */
  flush(): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const layer of this.unsavedDeltas) {
      ops.push({ type: 'put', key: layerCountKey(layer), value: String(this.deltas.get(layer) ?? 0), sublevel: this.sub });
    }
    this.unsavedDeltas.clear();
    if (this.unsaved.size === 0) return ops;
    ops.push({ type: 'put', key: counterKey(LAYER_COUNTER), value: String(this.nextLayer), sublevel: this.sub });
    for (const name of this.unsaved) {
      const record = this.scopes.get(name);
      if (record) ops.push({ type: 'put', key: scopeKey(name), value: encodeJson(record), sublevel: this.sub });
    }
    this.unsaved.clear();
    return ops;
  }

  /** Layers referenced by any scope, with how many chains share each. */
  layerUse(): Map<LayerId, number> {
    const use = new Map<LayerId, number>();
    const count = (layer: LayerId) => use.set(layer, (use.get(layer) ?? 0) + 1);
    for (const record of this.scopes.values()) {
      record.chain.forEach(count);
      for (const base of Object.values(record.merges ?? {})) base.forEach(count);
    }
    return use;
  }
}
