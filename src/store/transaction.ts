import type { FactKey, FactRecord } from '../domain/fact.js';
import { pendingImportKey, retiredLayerKey } from '../encoding/control-keys.js';
import { type EncodedFactKey, type LayerId, encodeFactKey, encodedIndexKeys, indexKeysOf, listingKeyOf } from '../encoding/fact-keys.js';
import { type EntryValue, encodeEntry } from '../encoding/records.js';
import { encodeHistoryValue, historyKey, historyKeyInLayer, historyOfLayerRange } from '../encoding/history-keys.js';
import type { EventDraft } from './event-log.js';
import { type BatchOp, type KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';
import { type RuleRecord, delRuleOp, putRuleOp } from './rule-records.js';
import type { ScopeRegistry } from './scope-registry.js';
import { type SessionRecord, delAccessOps, delSessionOp, incrementAccessOps, putAccessCountOp, putSessionOp } from './session-records.js';
import { TenantReads } from './tenant-reads.js';
import { type PruneResult, pruneOps } from './history-reader.js';
import { RETRIEVAL_MARKER_KEY } from '../encoding/retrieval-keys.js';
import { type DocumentChange, type LayerStatsCache, dropLayerRetrieval, retrievalOps } from './retrieval-writes.js';
import type { VectorUpdate } from './vector-cache.js';
import { type PurgeCounts, type PurgeMatch, purgeTenant } from './tenant-purge.js';

/** How a write treats the fact's embedding: a new one, null to drop it, or (absent) kept from the nearest layer of `vectorFrom`. */
export interface VectorChange {
  readonly embedding?: Float32Array | null;
  readonly vectorFrom?: readonly LayerId[];
}

/** A layer no scope uses any more: its keys are removed once no reader can need them. */
export interface RetiredLayer {
  readonly layer: LayerId;
  /** A root layer has no listing: its facts are found by a scan of the tenant's index. */
  readonly isRoot: boolean;
}

/** What a transaction had collected at some point, to roll back to (one request of a coalesced batch failed). */
export interface Savepoint {
  readonly ops: number;
  readonly drafts: number;
  readonly retired: number;
  readonly written: number;
  readonly documents: number;
  readonly scopes: ScopeRegistry;
}

/** What a transaction hands to its commit. */
export interface TransactionWork {
  readonly ops: readonly BatchOp[];
  readonly events: readonly EventDraft[];
  readonly retired: readonly RetiredLayer[];
  readonly written: readonly string[];
  /** Embeddings the batch changes, for the tenant's vector cache once it is written. */
  readonly vectors: readonly VectorUpdate[];
  /** Layer statistics as the batch leaves them (null: none stored), for the store's LayerStatsCache once it is written. */
  readonly stats: ReadonlyMap<LayerId, string | null>;
}

/**
 * The only way to change a tenant (see TenantStore.transaction): reads see the current state and
 * the draft of the scopes; writes are collected and committed as one atomic batch with the scope
 * changes and events, or thrown away with the draft when anything throws.
 */
export class TenantTransaction extends TenantReads {
  private readonly ops: BatchOp[] = [];
  private readonly drafts: EventDraft[] = [];
  private readonly retired: RetiredLayer[] = [];
  /** Presence keys of every fact written (the tenant's key filter learns them at commit). */
  private readonly written: string[] = [];
  /** Retrieval index changes (postings, documents), turned into ops by `settle()` before the commit. */
  private readonly documents: DocumentChange[] = [];
  private readonly vectors: VectorUpdate[] = [];
  private readonly stats = new Map<LayerId, string | null>();
  /**
   * Set by the tell path when the tenant's key filter is built: true when no layer holds an entry
   * with this presence key, so the fact's retrieval documents need not be read.
   */
  absent: ((presence: string) => boolean) | null = null;

  constructor(
    keyspace: KeyspaceReader,
    /** The draft of the tenant's scopes: change it freely, it is installed only if the batch is written. */
    readonly scopes: ScopeRegistry,
    readonly now: number,
    private readonly sub: LevelSublevel,
    private readonly meta: LevelSublevel,
    private readonly tenant: string,
  ) {
    super(keyspace, scopes);
  }

  /**
   * Write a fact's record (null: a tombstone dated now) into the top layer of a chain, listing it
   * if the layer has a parent, and log the version in the fact's history. `version`: a tombstone's
   * (the record's own otherwise).
   */
  putFact(key: FactKey, chain: readonly LayerId[], record: FactRecord | null, vector: VectorChange = {}, actor: string | null = null, version = 1): void {
    const layer = chain[0] as LayerId;
    const entry: EntryValue = record === null ? { kind: 'tombstone', at: this.now } : { kind: 'record', record };
    const value = encodeEntry(entry);
    const encoded = encodeFactKey(key);
    this.putEncoded(encoded, key.negated, layer, value, chain.length > 1 ? key : null);
    this.logVersion(encoded, key.negated, layer, value, actor, record?.version ?? version);
    this.documents.push({ key, layer, record, ...vector });
  }

  /**
   * Remove a fact from a chain's top layer: a dated tombstone, in a root layer too (an as-of read
   * finds the fact's past through it; the pruner drops it after the retention period).
   */
  removeFact(key: FactKey, chain: readonly LayerId[], actor: string | null = null, version = 1): void {
    this.putFact(key, chain, null, {}, actor, version);
  }

  /** Write an entry into a given layer as it is, without a history entry (flatten builds a new layer this way). */
  putEntry(key: FactKey, layer: LayerId, entry: EntryValue, listed: boolean, vector: VectorChange = {}): void {
    this.putEncoded(encodeFactKey(key), key.negated, layer, encodeEntry(entry), listed ? key : null);
    this.documents.push({ key, layer, record: entry.kind === 'record' ? entry.record : null, ...vector });
  }

  /** Log a version written into a layer (same batch as the write). */
  private logVersion(key: EncodedFactKey, negated: boolean, layer: LayerId, entry: string, actor: string | null, version: number): void {
    this.ops.push({ type: 'put', key: historyKey(key, negated, layer, this.now), value: encodeHistoryValue({ actor, entry, version }), sublevel: this.sub });
  }

  /**
   * Log a version as an export recorded it: its own time, actor and version (imports only). The
   * versions of one fact and layer are logged oldest first, so that those of one millisecond keep
   * their order (historyKey orders them by the sequence of the writes).
   */
  logImported(key: FactKey, layer: LayerId, time: number, actor: string | null, entry: EntryValue, version: number): void {
    this.ops.push({ type: 'put', key: historyKey(encodeFactKey(key), key.negated, layer, time), value: encodeHistoryValue({ actor, entry: encodeEntry(entry), version }), sublevel: this.sub });
  }

  /** Copy the history of layers into another (flatten: the union of a run's logs is the folded layer's log, see flatten.ts). */
  async copyHistory(from: readonly LayerId[], to: LayerId): Promise<void> {
    for (const layer of from) {
      for await (const [key, value] of scanRange(this.keyspace, historyOfLayerRange(layer))) {
        this.ops.push({ type: 'put', key: historyKeyInLayer(key, to), value, sublevel: this.sub });
      }
    }
  }

  /** Drop the history no read at or after `before` can need (history-reader.ts pruneOps). */
  async pruneHistory(before: number): Promise<PruneResult> {
    const chains = this.scopes.all().map((s) => s.chain);
    const roots = new Set(chains.map((chain) => chain[chain.length - 1] as LayerId));
    const { deletes, result } = await pruneOps(this.keyspace, before, roots);
    for (const key of deletes) this.ops.push({ type: 'del', key, sublevel: this.sub });
    return result;
  }

  /**
   * The tell path's putFact: the key's terms encoded once by the caller, and the record's value
   * already encoded (a bulk tell of facts with equal records encodes it once).
   */
  putTold(key: EncodedFactKey, fact: FactKey, chain: readonly LayerId[], record: FactRecord, value: string, vector: VectorChange = {}, actor: string | null = null): void {
    const layer = chain[0] as LayerId;
    this.putEncoded(key, fact.negated, layer, value, chain.length > 1 ? fact : null);
    this.logVersion(key, fact.negated, layer, value, actor, record.version);
    this.documents.push({ key: fact, layer, record, ...vector, fresh: this.absent?.(key.presence) ?? false });
  }

  private putEncoded(key: EncodedFactKey, negated: boolean, layer: LayerId, value: string, listing: FactKey | null): void {
    this.written.push(key.presence);
    for (const k of encodedIndexKeys(key, negated, layer)) this.ops.push({ type: 'put', key: k, value, sublevel: this.sub });
    if (listing !== null) this.ops.push({ type: 'put', key: listingKeyOf(listing, layer), value: '', sublevel: this.sub });
  }

  /**
   * Erase a fact's entry from a layer without a trace (purge): its index keys, its listing key and
   * (at settle) its retrieval document, postings and vector, with the layer statistics adjusted.
   * No tombstone and no history entry are written: the caller deletes the history itself.
   */
  eraseEntry(key: FactKey, layer: LayerId): void {
    for (const k of indexKeysOf(key, layer)) this.ops.push({ type: 'del', key: k, sublevel: this.sub });
    this.ops.push({ type: 'del', key: listingKeyOf(key, layer), sublevel: this.sub });
    this.documents.push({ key, layer, record: null, embedding: null });
  }

  /** Erase every trace of a value (tenant-purge.ts): use through TenantStore.erase, which drops the caches after. */
  purge(match: PurgeMatch): Promise<PurgeCounts> {
    return purgeTenant(this, this.keyspace, match);
  }

  /** Delete one key of the tenant as it is (purge: history versions and events found by a scan). */
  eraseKey(key: string): void {
    this.ops.push({ type: 'del', key, sublevel: this.sub });
  }

  /** Index a fact entry already stored (the backfill of a tenant written before the retrieval indexes). */
  indexStored(key: FactKey, layer: LayerId, record: FactRecord): void {
    this.documents.push({ key, layer, record, embedding: null });
  }

  /** Mark the tenant's retrieval indexes complete. */
  markRetrievalIndexed(): void {
    this.ops.push({ type: 'put', key: RETRIEVAL_MARKER_KEY, value: '1', sublevel: this.sub });
  }

  putRule(rule: RuleRecord): void {
    this.ops.push(putRuleOp(this.sub, rule));
  }

  deleteRule(id: string): void {
    this.ops.push(delRuleOp(this.sub, id));
  }

  putSession(sessionId: string, record: SessionRecord): void {
    this.ops.push(putSessionOp(this.sub, sessionId, record));
  }

  deleteSession(sessionId: string): void {
    this.ops.push(delSessionOp(this.sub, sessionId));
  }

  /** Count one more window that included each of these facts. */
  async incrementAccess(identities: readonly string[]): Promise<void> {
    this.ops.push(...(await incrementAccessOps(this.keyspace, this.sub, identities)));
  }

  /** Set a fact's access count as an export recorded it (imports only; windows increment). */
  putAccessCount(identity: string, count: number): void {
    this.ops.push(putAccessCountOp(this.sub, identity, count));
  }

  /** Forget the access counts of these facts (they are gone from every scope). */
  deleteAccess(identities: readonly string[]): void {
    this.ops.push(...delAccessOps(this.sub, identities));
  }

  /**
   * The layer is no longer used by any scope of the draft. Its keys stay until no open reader can
   * need them; the retirement is journaled in the same batch, so a crash cannot leak them.
   */
  retireLayer(layer: LayerId, isRoot: boolean): void {
    this.scopes.dropLayerCount(layer);
    this.retired.push({ layer, isRoot });
    this.ops.push({ type: 'put', key: retiredLayerKey(this.tenant, layer), value: isRoot ? 'root' : 'listed', sublevel: this.meta });
  }

  /** Remove every key of a retired layer and its journal entry (the collector's work). */
  async dropRetired(retired: RetiredLayer): Promise<void> {
    for await (const key of this.factsInLayer(retired.layer, retired.isRoot)) {
      for (const k of indexKeysOf(key, retired.layer)) this.ops.push({ type: 'del', key: k, sublevel: this.sub });
      if (!retired.isRoot) this.ops.push({ type: 'del', key: listingKeyOf(key, retired.layer), sublevel: this.sub });
    }
    this.ops.push(...(await dropLayerRetrieval(this.keyspace, this.sub, retired.layer)));
    for await (const [key] of scanRange(this.keyspace, historyOfLayerRange(retired.layer))) this.ops.push({ type: 'del', key, sublevel: this.sub });
    this.stats.set(retired.layer, null);
    this.ops.push({ type: 'del', key: retiredLayerKey(this.tenant, retired.layer), sublevel: this.meta });
  }

  /** The import into this tenant is complete: its marker goes in the batch that makes it visible (pending-imports.ts). */
  endImport(): void {
    this.ops.push({ type: 'del', key: pendingImportKey(this.tenant), sublevel: this.meta });
  }

  /** Append an event to the tenant's log, in the same batch. */
  event(draft: EventDraft): void {
    this.drafts.push(draft);
  }

  savepoint(): Savepoint {
    return { ops: this.ops.length, drafts: this.drafts.length, retired: this.retired.length, written: this.written.length, documents: this.documents.length, scopes: this.scopes.draft() };
  }

  /** Forget everything collected since the savepoint, scope changes included. */
  rollback(point: Savepoint): void {
    this.ops.length = point.ops;
    this.drafts.length = point.drafts;
    this.retired.length = point.retired;
    this.written.length = point.written;
    this.documents.length = point.documents;
    this.scopes.restore(point.scopes);
  }

  /** Internal (the store's commit): turn the collected document changes into index ops (reads what they replace). */
  async settle(statsCache: LayerStatsCache | null = null): Promise<void> {
    const changes = this.documents.splice(0);
    const { ops, vectors, stats } = await retrievalOps(this.keyspace, this.sub, changes, statsCache);
    this.ops.push(...ops);
    this.vectors.push(...vectors);
    for (const [layer, value] of stats) this.stats.set(layer, value);
  }

  /** Internal (the store's commit): what was collected. */
  collected(): TransactionWork {
    return { ops: this.ops, events: this.drafts, retired: this.retired, written: this.written, vectors: this.vectors, stats: this.stats };
  }
}
