import type { FactKey, FactPattern } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import type { EntryValue } from '../encoding/records.js';
import { type MatchOptions, type MatchedFact, type ScopeView, allFacts, estimateFacts, matchCachedNow, matchFacts, nearestAt } from './fact-reader.js';
import { type FactVersion, changedSince, versionsIn } from './history-reader.js';
import { readTimes } from './scope-registry.js';
import { type LayerEntry, type LayerHistory, type WalkReads, entriesIn, entriesOfLayers, factsInLayer, historyOfLayers, holdsVectors, listedPresences, primaryPresences } from './layer-reader.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import { allVectorsRange } from '../encoding/retrieval-keys.js';
import { historyOfLayerRange } from '../encoding/history-keys.js';
import { listingRange } from '../encoding/fact-keys.js';
import { type ScopeTextCandidates, type VectorMatch, type VectorSource, nearestVectors, resolveCandidates, textCandidates } from './retrieval-reader.js';
import type { ScopeRecord } from './scope-registry.js';
import type { FactKey as Key, StoredFact } from '../domain/fact.js';
import { VectorCache } from './vector-cache.js';
import type { PinnedRanges } from './range-cache.js';
import { type RuleRecord, loadRules } from './rule-records.js';
import type { ScopeRegistry } from './scope-registry.js';
import { type SessionRecord, hasAccessCounts, listAccessCounts, listSessions, loadAccessCountsOf, loadSession } from './session-records.js';

/** Whole-layer reads, what diff, merge and flatten need. */
export interface LayerSource {
  /** The scopes as this reader sees them. */
  readonly registry: ScopeRegistry;
  factsInLayer(layer: LayerId, isRoot: boolean): AsyncGenerator<FactKey>;
  entriesIn(facts: readonly FactKey[], layers: readonly LayerId[]): Promise<Map<LayerId, EntryValue>[]>;
  /** Resumable, in index order (see layer-reader.ts): the facts a listed layer holds, by presence key, from `from` on. */
  listedPresences(layer: LayerId, from: string | null, reads: WalkReads): AsyncGenerator<string>;
  /** The same for root layers, by one walk of the primary index. */
  rootPresences(layers: ReadonlySet<LayerId>, from: string | null, reads: WalkReads): AsyncGenerator<string>;
  /** The entry deciding a fact in a chain whose layers are read at these times (null: now), from `entriesIn`'s entries and the history. */
  nearestAt(fact: FactKey, chain: readonly LayerId[], entries: ReadonlyMap<LayerId, EntryValue>, times: readonly number[] | null): Promise<EntryValue | undefined>;
}

/**
 * The reads of one tenant, over one state: a reader's explicit snapshot with the scopes of that
 * moment, or (in a transaction) the current state with the transaction's draft of the scopes.
 * Nothing outside the store sees the keyspace itself.
 */
export class TenantReads implements LayerSource {
  constructor(
    protected readonly keyspace: KeyspaceReader,
    readonly registry: ScopeRegistry,
    /** The exact cache of small ranges as this reader's snapshot sees it (none in transactions). */
    private readonly cached: PinnedRanges | null = null,
    /** The tenant's vector cache and approximate indexes (absent: vectors are read from this keyspace, uncached, and compared exactly). */
    private readonly vectorSource?: VectorSource,
  ) {}

  /** One scope (null when it does not exist), or every scope of the tenant (scope null). */
  view(scope: string | null): ScopeView | null {
    if (scope === null) return { kind: 'all', scopes: this.registry.all() };
    const record = this.registry.get(scope);
    return record ? { kind: 'scope', scope: record } : null;
  }

  match(view: ScopeView, pattern: FactPattern, options: MatchOptions): AsyncGenerator<MatchedFact> {
    return matchFacts(this.keyspace, view, pattern, options, this.cached);
  }

  /** The same facts as `match`, at once, when the range cache holds their rows; undefined: use `match`. */
  matchNow(view: ScopeView, pattern: FactPattern, options: MatchOptions): MatchedFact[] | undefined {
    return matchCachedNow(view, pattern, options, this.cached);
  }

  estimate(pattern: FactPattern): Promise<number> {
    return estimateFacts(this.keyspace, pattern, this.cached);
  }

  allFacts(view: ScopeView, options: MatchOptions): AsyncGenerator<MatchedFact> {
    return allFacts(this.keyspace, view, options);
  }

  /** The facts of each scope of the view whose postings hold any of these tokens, with BM25's statistics (retrieval-reader.ts). */
  textCandidates(view: ScopeView, tokens: readonly string[], maxPostingsPerToken?: number): Promise<ScopeTextCandidates[]> {
    return textCandidates(this.keyspace, view, tokens, maxPostingsPerToken);
  }

  /** The stored facts that candidates of a scope stand for (null: hidden, tombstoned or not visible now). */
  resolveCandidates(scope: ScopeRecord, candidates: readonly { readonly key: Key; readonly layer: LayerId }[], now: number): Promise<(StoredFact | null)[]> {
    return resolveCandidates(this.keyspace, scope, candidates, now);
  }

  /** The `depth` visible facts of the view nearest to the query by cosine (retrieval-reader.ts: exact, or checked candidates of an approximate index). */
  nearestVectors(view: ScopeView, query: Float32Array, depth: number, now: number): Promise<VectorMatch[]> {
    const uncached = new VectorCache();
    const source: VectorSource = this.vectorSource ?? { vectorsOf: (layer) => uncached.layer(this.keyspace, layer), indexOf: () => null, overFetch: 1 };
    return nearestVectors(this.keyspace, view, query, depth, now, source);
  }

  /** True when some layer of the tenant holds an embedding. */
  async hasEmbeddings(): Promise<boolean> {
    for await (const _ of scanRange(this.keyspace, allVectorsRange(), 1)) return true;
    return false;
  }

  factsInLayer(layer: LayerId, isRoot: boolean): AsyncGenerator<FactKey> {
    return factsInLayer(this.keyspace, layer, isRoot);
  }

  entriesIn(facts: readonly FactKey[], layers: readonly LayerId[]): Promise<Map<LayerId, EntryValue>[]> {
    return entriesIn(this.keyspace, facts, layers);
  }

  listedPresences(layer: LayerId, from: string | null, reads: WalkReads): AsyncGenerator<string> {
    return listedPresences(this.keyspace, layer, from, reads);
  }

  rootPresences(layers: ReadonlySet<LayerId>, from: string | null, reads: WalkReads): AsyncGenerator<string> {
    return primaryPresences(this.keyspace, layers, from, reads);
  }

  /** The logged versions of a predicate's facts (one fact's with `args`) in a scope's chain (history-reader.ts). */
  history(scope: ScopeRecord, predicate: string, args: readonly Key['args'][number][] | null): AsyncGenerator<FactVersion> {
    return versionsIn(this.keyspace, scope, predicate, args);
  }

  /** The facts a scope logged a version of after `time` (positive keys; both polarities are meant). */
  changedSince(scope: ScopeRecord, time: number): Promise<FactKey[]> {
    return changedSince(this.keyspace, scope, time);
  }

  nearestAt(fact: FactKey, chain: readonly LayerId[], entries: ReadonlyMap<LayerId, EntryValue>, times: readonly number[] | null): Promise<EntryValue | undefined> {
    return nearestAt(this.keyspace, fact, chain, entries, times);
  }

  /** Each fact's entry in a scope at a moment (undefined: now), as a read of the scope would decide it. */
  async statesAt(scope: ScopeRecord, facts: readonly FactKey[], asOf: number | undefined): Promise<(EntryValue | undefined)[]> {
    const entries = await this.entriesIn(facts, scope.chain);
    const times = readTimes(scope, asOf);
    return Promise.all(facts.map((fact, i) => nearestAt(this.keyspace, fact, scope.chain, entries[i] ?? new Map(), times)));
  }

  /** Whether anything was ever written into a layer (every write logs a version; a listed layer lists its facts). */
  async layerWritten(layer: LayerId): Promise<boolean> {
    for await (const _ of scanRange(this.keyspace, historyOfLayerRange(layer), 1)) return true;
    for await (const _ of scanRange(this.keyspace, listingRange(layer), 1)) return true;
    return false;
  }

  /** Every entry of these layers, in index order (an export's walk). */
  async *layerEntries(layers: ReadonlySet<LayerId>): AsyncGenerator<LayerEntry> {
    yield* entriesOfLayers(this.keyspace, layers, await holdsVectors(this.keyspace));
  }

  /** The logged versions of every fact of these layers, per fact and layer (an export's walk). */
  layerHistory(layers: ReadonlySet<LayerId>): AsyncGenerator<LayerHistory> {
    return historyOfLayers(this.keyspace, layers);
  }

  rules(): Promise<RuleRecord[]> {
    return loadRules(this.keyspace);
  }

  session(sessionId: string): Promise<SessionRecord | null> {
    return loadSession(this.keyspace, sessionId);
  }

  sessions(): AsyncGenerator<[string, SessionRecord]> {
    return listSessions(this.keyspace);
  }

  /** Every access count of the tenant (an export carries them; windows read only their candidates'). */
  accessCounts(): AsyncGenerator<[string, number]> {
    return listAccessCounts(this.keyspace);
  }

  /** Whether any fact of the tenant has an access count (a window that finds none reads no counts). */
  hasAccessCounts(): Promise<boolean> {
    return hasAccessCounts(this.keyspace);
  }

  /** The access counts of these facts only (there is no read of every count: windows read their candidates'). */
  accessCountsOf(identities: readonly string[]): Promise<Map<string, number>> {
    return loadAccessCountsOf(this.keyspace, identities);
  }
}
