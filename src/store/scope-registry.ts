import { MAIN_SCOPE } from '../domain/fact.js';
import { counterKey, layerCountKey, layerCountRange, layerOfCountKey, scopeKey, scopeRange } from '../encoding/control-keys.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { scopeShape } from './record-shapes.js';
import { type BatchOp, KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';

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
  /**
   * A scope forked at a past moment reads the layers below its own as they stood then: per layer
   * (base 10 id), the transaction time at which that layer and every layer below it are read.
   * Fork stays O(1): nothing is copied, the history of those layers answers (fact-reader.ts).
   */
  readonly cutoffs?: Readonly<Record<string, number>>;
}

/**
 * The transaction time at which each layer of a scope's chain is read: the earlier of the read's
 * own `asOf` and the scope's cutoffs at or above the layer. null: every layer as it is now (the
 * fast path of every read that names no time).
 */
export function readTimes(scope: ScopeRecord, asOf: number | undefined): number[] | null {
  if (asOf === undefined && scope.cutoffs === undefined) return null;
  let time = asOf ?? Number.POSITIVE_INFINITY;
  return scope.chain.map((layer) => {
    const cutoff = scope.cutoffs?.[String(layer)];
    if (cutoff !== undefined && cutoff < time) time = cutoff;
    return time;
  });
}

const LAYER_COUNTER = 'layer';
/** Bytes of the facts tells stored and retractions removed (a quota's measure; see adjustBytes). */
const BYTES_COUNTER = 'bytes';

/**
 * The scopes of a tenant and their layer counts. The store keeps one installed registry per
 * tenant and never changes it: a transaction works on a `draft()` (a copy), whose `flush()` ops go
 * into the transaction's batch, and the draft replaces the installed registry only once that batch
 * is written. A refused or failed transaction leaves nothing behind.
 */
export class ScopeRegistry {
  /** Which installed state this is (set by the store; readers pin it, see tenant-store.ts). */
  epoch = 0;
  /** Changed since it was drafted. */
  private changed = false;
  /** See adjustBytes. */
  private bytes = 0;
  private bytesChanged = false;
  /** The layer counter as stored (or last flushed): a flush writes it only when it moved. */
  private storedNextLayer = 0;

  private constructor(
    private readonly sub: LevelSublevel,
    private readonly scopes: Map<string, ScopeRecord>,
    /**
     * Per layer: how many facts its writes added to (or removed from) the chain it topped. A layer
     * is written only while it is the top of one chain, so a scope's fact count is the sum over its chain.
     */
    private readonly deltas: Map<LayerId, number>,
    private nextLayer: number,
    /** Scope records not yet persisted (main of a tenant that has never been written). */
    private readonly unsaved: Set<string>,
    private readonly unsavedDeltas: Set<LayerId>,
    private readonly removedScopes: Set<string>,
    private readonly removedCounts: Set<LayerId>,
  ) {}

  static async load(sub: LevelSublevel, now: number): Promise<ScopeRegistry> {
    const registry = new ScopeRegistry(sub, new Map(), new Map(), 0, new Set(), new Set(), new Set(), new Set());
    const reader = new KeyspaceReader(sub);
    for await (const [key, value] of scanRange(reader, scopeRange())) {
      const record = decodeJson(value, scopeShape, 'scope record', key);
      registry.scopes.set(record.name, record);
    }
    const counter = await reader.get(counterKey(LAYER_COUNTER));
    registry.nextLayer = counter === undefined ? 0 : Number(counter);
    registry.storedNextLayer = counter === undefined ? -1 : registry.nextLayer;
    registry.bytes = Number((await reader.get(counterKey(BYTES_COUNTER))) ?? 0);
    for await (const [key, value] of scanRange(reader, layerCountRange())) registry.deltas.set(layerOfCountKey(key), Number(value));
    if (!registry.scopes.has(MAIN_SCOPE)) registry.createRoot(MAIN_SCOPE, now);
    registry.changed = false;
    return registry;
  }

  /** A private copy to change; what is still unsaved here (an implicit main) is unsaved there too. */
  draft(): ScopeRegistry {
    const copy = new ScopeRegistry(
      this.sub,
      new Map(this.scopes),
      new Map(this.deltas),
      this.nextLayer,
      new Set(this.unsaved),
      new Set(this.unsavedDeltas),
      new Set(this.removedScopes),
      new Set(this.removedCounts),
    );
    copy.epoch = this.epoch;
    copy.changed = this.changed;
    copy.bytes = this.bytes;
    copy.bytesChanged = this.bytesChanged;
    copy.storedNextLayer = this.storedNextLayer;
    return copy;
  }

  /** Become the copy `draft()` made (a savepoint's rollback). */
  restore(from: ScopeRegistry): void {
    const copy = <K, V>(to: Map<K, V>, source: ReadonlyMap<K, V>) => {
      to.clear();
      for (const [k, v] of source) to.set(k, v);
    };
    const copySet = <T>(to: Set<T>, source: ReadonlySet<T>) => {
      to.clear();
      for (const v of source) to.add(v);
    };
    copy(this.scopes, from.scopes);
    copy(this.deltas, from.deltas);
    copySet(this.unsaved, from.unsaved);
    copySet(this.unsavedDeltas, from.unsavedDeltas);
    copySet(this.removedScopes, from.removedScopes);
    copySet(this.removedCounts, from.removedCounts);
    this.nextLayer = from.nextLayer;
    this.changed = from.changed;
    this.bytes = from.bytes;
    this.bytesChanged = from.bytesChanged;
    this.storedNextLayer = from.storedNextLayer;
  }

  /** True when the draft was changed (a transaction with nothing else to write still commits it). */
  get isChanged(): boolean {
    return this.changed;
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
    this.put(record);
    return record;
  }

  /** Replace a scope's record; persisted by `flush()` in the same batch. */
  put(record: ScopeRecord): void {
    this.scopes.set(record.name, record);
    this.unsaved.add(record.name);
    this.removedScopes.delete(record.name);
    this.changed = true;
  }

  remove(name: string): void {
    this.scopes.delete(name);
    this.unsaved.delete(name);
    this.removedScopes.add(name);
    this.changed = true;
  }

  /** Record that writes to a layer changed its chain's fact count; persisted by the next flush. */
  adjustCount(layer: LayerId, delta: number): void {
    if (delta === 0) return;
    this.deltas.set(layer, (this.deltas.get(layer) ?? 0) + delta);
    this.unsavedDeltas.add(layer);
    this.changed = true;
  }

  /** Facts in a chain (expired facts count until they are retracted). */
  countOf(chain: readonly LayerId[]): number {
    let total = 0;
    for (const layer of chain) total += this.deltas.get(layer) ?? 0;
    return total;
  }

  /** Facts stored in every layer of the tenant (a fact a fork shares counts once). */
  totalFacts(): number {
    let total = 0;
    for (const delta of this.deltas.values()) total += delta;
    return total;
  }

  /**
   * The encoded size (identity and record, one index entry's worth) of the facts tells stored,
   * less what upserts replaced and retractions removed. Forks share and merges copy layers
   * without changing it: it measures what the tenant wrote, the quota's measure.
   */
  adjustBytes(delta: number): void {
    if (delta === 0) return;
    this.bytes = Math.max(0, this.bytes + delta);
    this.bytesChanged = true;
    this.changed = true;
  }

  get storedBytes(): number {
    return this.bytes;
  }

  dropLayerCount(layer: LayerId): void {
    this.deltas.delete(layer);
    this.unsavedDeltas.delete(layer);
    this.removedCounts.add(layer);
    this.changed = true;
  }

  allocateLayer(): LayerId {
    this.changed = true;
    return this.nextLayer++;
  }

  /** Ops that persist every change of this draft; written in the same batch as the facts they serve. */
  flush(): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const layer of this.removedCounts) ops.push({ type: 'del', key: layerCountKey(layer), sublevel: this.sub });
    for (const name of this.removedScopes) ops.push({ type: 'del', key: scopeKey(name), sublevel: this.sub });
    for (const layer of this.unsavedDeltas) {
      ops.push({ type: 'put', key: layerCountKey(layer), value: String(this.deltas.get(layer) ?? 0), sublevel: this.sub });
    }
    // Not with every count change: one op of the dozen a single tell writes.
    if (this.nextLayer !== this.storedNextLayer) {
      ops.push({ type: 'put', key: counterKey(LAYER_COUNTER), value: String(this.nextLayer), sublevel: this.sub });
      this.storedNextLayer = this.nextLayer;
    }
    if (this.bytesChanged) ops.push({ type: 'put', key: counterKey(BYTES_COUNTER), value: String(this.bytes), sublevel: this.sub });
    this.bytesChanged = false;
    for (const name of this.unsaved) {
      const record = this.scopes.get(name);
      if (record) ops.push({ type: 'put', key: scopeKey(name), value: encodeJson(record), sublevel: this.sub });
    }
    this.unsaved.clear();
    this.unsavedDeltas.clear();
    this.removedScopes.clear();
    this.removedCounts.clear();
    this.changed = false;
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
