import { type FactKey, type FactRecord, type StoredFact, factKeyId, isVisibleAt } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { type EntryValue, writtenAt } from '../encoding/records.js';
import {
  decodeLayerStats,
  decodePosting,
  decodePostingKey,
  layerStatsKey,
  postingRange,
} from '../encoding/retrieval-keys.js';
import type { ScopeView } from './fact-reader.js';
import { entriesIn } from './layer-reader.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import { type ScopeRecord, readTimes } from './scope-registry.js';
import { entryAt } from './fact-reader.js';
import type { CachedVector, LayerVectors } from './vector-cache.js';

/** Where a search reads a layer's vectors, and the layer's approximate index when one is ready (vector-index.ts). */
export interface VectorSource {
  vectorsOf(layer: LayerId): Promise<LayerVectors>;
  /** null: compare every vector of the layer. */
  indexOf(layer: LayerId, vectors: LayerVectors): { candidates(query: Float32Array, count: number): CachedVector[] } | null;
  /** Candidates asked of an index per vector wanted. */
  readonly overFetch: number;
}

/** A fact of a scope that holds at least one query token, as its postings say (not yet checked against the fact). */
export interface TextCandidate {
  readonly key: FactKey;
  /** The nearest layer of the scope's chain holding postings of the fact for the query. */
  readonly layer: LayerId;
  /** Term frequency of each query token the fact holds there. */
  readonly tf: ReadonlyMap<string, number>;
  /** Tokens in the fact's document. */
  readonly length: number;
}

/** One scope's candidates and its collection statistics (documents and total length over its chain). */
export interface ScopeTextCandidates {
  readonly scope: ScopeRecord;
  readonly documents: number;
  readonly totalLength: number;
  readonly candidates: readonly TextCandidate[];
}

/**
 * The facts of each scope of the view whose postings hold any of the tokens: one scan of the
 * postings per token; per scope, a fact's postings of the nearest layer of its chain count. What
 * the postings cannot tell (a nearer upsert that dropped the words, a tombstone, an expiry) is
 * left to `resolveCandidates`, which the caller runs on the best candidates only.
 */
export async function textCandidates(
  keyspace: KeyspaceReader,
  view: ScopeView,
  tokens: readonly string[],
  /** A token with more postings than this is left out (and not read on): a word that common tells nothing. */
  maxPostingsPerToken = Number.POSITIVE_INFINITY,
): Promise<ScopeTextCandidates[]> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const inView = new Set(scopes.flatMap((s) => s.chain));
  const postings = new Map<string, { key: FactKey; layers: Map<LayerId, { tf: Map<string, number>; length: number }> }>();
  for (const token of new Set(tokens)) {
    const found: { key: FactKey; group: string; layer: LayerId; value: string }[] = [];
    let read = 0;
    for await (const [raw, value] of scanRange(keyspace, postingRange(token), Math.min(256, maxPostingsPerToken + 1))) {
      if (++read > maxPostingsPerToken) break;
      const { key, group, layer } = decodePostingKey(raw);
      if (inView.has(layer)) found.push({ key, group, layer, value });
    }
    if (read > maxPostingsPerToken) continue;
    for (const { key, group, layer, value } of found) {
      const fact = postings.get(group) ?? { key, layers: new Map() };
      postings.set(group, fact);
      const { tf, length } = decodePosting(value);
      const at = fact.layers.get(layer) ?? { tf: new Map<string, number>(), length };
      at.tf.set(token, tf);
      fact.layers.set(layer, at);
    }
  }
  const out: ScopeTextCandidates[] = [];
  for (const scope of scopes) {
    const candidates: TextCandidate[] = [];
    for (const { key, layers } of postings.values()) {
      const layer = scope.chain.find((l) => layers.has(l));
      if (layer === undefined) continue;
      const at = layers.get(layer) as { tf: Map<string, number>; length: number };
      candidates.push({ key, layer, tf: at.tf, length: at.length });
    }
    out.push({ scope, ...(await chainStats(keyspace, scope)), candidates });
  }
  return out;
}

/**
 * The stored fact each candidate stands for in its scope, or null when the candidate's layer is
 * not the nearest entry of the chain, or that entry is a tombstone or not visible now.
 */
export async function resolveCandidates(
  keyspace: KeyspaceReader,
  scope: ScopeRecord,
  candidates: readonly { readonly key: FactKey; readonly layer: LayerId }[],
  now: number,
): Promise<(StoredFact | null)[]> {
  const entries = await entriesIn(keyspace, candidates.map((c) => c.key), scope.chain);
  return candidates.map((c, i) => {
    const versions = entries[i] ?? new Map<LayerId, EntryValue>();
    const found = nearestIn(scope.chain, versions);
    const entry = found === null ? undefined : versions.get(found);
    if (found !== c.layer || entry?.kind !== 'record' || !isVisibleAt(entry.record, now)) return null;
    return { ...c.key, scope: scope.name, ...entry.record };
  });
}

function nearestIn(chain: readonly LayerId[], entries: ReadonlyMap<LayerId, unknown>): LayerId | null {
  for (const layer of chain) if (entries.has(layer)) return layer;
  return null;
}

/** Documents and total length over a chain (versions a nearer layer replaced still count: BM25 only needs the scale). */
async function chainStats(keyspace: KeyspaceReader, scope: ScopeRecord): Promise<{ documents: number; totalLength: number }> {
  const values = await keyspace.getMany(scope.chain.map(layerStatsKey));
  let documents = 0;
  let totalLength = 0;
  for (const raw of values) {
    const stats = decodeLayerStats(raw);
    documents += stats.documents;
    totalLength += stats.totalLength;
  }
  return { documents: Math.max(documents, 0), totalLength: Math.max(totalLength, 0) };
}

/** A visible fact of a scope and its cosine similarity to the query. */
export interface VectorMatch {
  readonly fact: StoredFact;
  readonly similarity: number;
}

/**
 * The `depth` visible facts of the view most similar to the query. Every vector of the view is
 * compared, except in a layer with a ready approximate index: there only its candidates (`overFetch`
 * times what is wanted, plus whatever changed since the index learnt it) are, with the stored
 * vectors; everything after that is the same for both. Per scope, a fact's vector is the one of the nearest layer of its chain that
 * has one; only the best are then checked against the facts themselves (one multi-get per round):
 * the vector must belong to the nearest entry of the chain (a nearer upsert without a vector or a
 * tombstone hides it) and the record must be visible now.
 */
export async function nearestVectors(
  keyspace: KeyspaceReader,
  view: ScopeView,
  query: Float32Array,
  depth: number,
  now: number,
  source: VectorSource,
): Promise<VectorMatch[]> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const norm = Math.sqrt(query.reduce((sum, x) => sum + x * x, 0));
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  // Most of the best are visible: keep the best 2·depth while comparing (a bounded heap, no
  // object per vector), and rank everything only when too many of them turn out hidden.
  let want = 2 * depth;
  let kept = await bestVectors(scopes, query, norm, want, source);
  const out: VectorMatch[] = [];
  const taken = new Set<string>();
  let at = 0;
  while (out.length < depth && at < kept.length) {
    const round = kept.slice(at, at + 2 * depth);
    at += round.length;
    const entries = await entriesIn(keyspace, round.map((c) => c.key), layers);
    for (const [i, c] of round.entries()) {
      const id = `${c.scope.name}\u0000${factKeyId(c.key)}`;
      if (out.length >= depth || taken.has(id)) continue;
      const versions = entries[i] ?? new Map<LayerId, EntryValue>();
      const entry = await vectorEntry(keyspace, c, versions);
      if (entry === null || !isVisibleAt(entry.record, now)) continue;
      taken.add(id);
      out.push({ fact: { ...c.key, scope: c.scope.name, ...entry.record }, similarity: c.similarity });
    }
    if (at >= kept.length && out.length < depth && kept.length === want) {
      // Many of the best were hidden or expired: rank further (a new pass; `taken` skips repeats).
      want += 2 * depth;
      kept = await bestVectors(scopes, query, norm, want, source);
    }
  }
  return out;
}

/**
 * The record a vector hit stands for in its scope, or null: the hit's layer must hold the entry
 * deciding the fact in the chain, and that entry must be a record. In a scope forked at a past
 * moment (readTimes), a layer is read as it stood then: an entry written since gives way to its
 * history, which keeps no vectors, so a fact whose deciding entry is not the current one of the
 * hit's layer has no vector there (null).
 */
async function vectorEntry(keyspace: KeyspaceReader, hit: VectorHit, versions: ReadonlyMap<LayerId, EntryValue>): Promise<{ readonly kind: 'record'; readonly record: FactRecord } | null> {
  const times = readTimes(hit.scope, undefined);
  for (const [i, layer] of hit.scope.chain.entries()) {
    const entry = versions.get(layer);
    if (entry === undefined) continue;
    const time = times?.[i] ?? Number.POSITIVE_INFINITY;
    if (writtenAt(entry) <= time) return layer === hit.layer && entry.kind === 'record' ? entry : null;
    // Written after the layer's moment: whatever held then (if anything) decides, with no vector.
    if ((await entryAt(keyspace, hit.key, layer, time)) !== undefined) return null;
  }
  return null;
}

interface VectorHit {
  readonly scope: ScopeRecord;
  readonly key: FactKey;
  readonly layer: LayerId;
  readonly similarity: number;
}

/**
 * The `count` vectors of the view most similar to the query, best first (ties: the order they
 * were met). Per scope, a fact's vector is the one of the nearest layer of its chain that has one:
 * a vector of a layer is skipped when a nearer layer of the chain holds one of the same fact.
 */
async function bestVectors(scopes: readonly ScopeRecord[], query: Float32Array, norm: number, count: number, source: VectorSource): Promise<VectorHit[]> {
  const heap = new TopK<VectorHit>(count);
  for (const scope of scopes) {
    const nearer: LayerVectors[] = [];
    for (const layer of scope.chain) {
      const vectors = await source.vectorsOf(layer);
      const index = vectors.size === 0 ? null : source.indexOf(layer, vectors);
      // values(), not entries(): an array per entry is garbage on a path that visits every vector.
      const compared: Iterable<CachedVector> = index === null ? vectors.values() : index.candidates(query, count * source.overFetch);
      for (const cached of compared) {
        if (nearer.length > 0 && nearer.some((m) => m.has(cached.group))) continue;
        const similarity = cosineTo(query, norm, cached.vector, cached.norm);
        if (heap.admits(similarity)) heap.push(similarity, { scope, key: cached.key, layer, similarity });
      }
      if (vectors.size > 0) nearer.push(vectors);
    }
  }
  return heap.best();
}

/** The `capacity` highest-scored items seen: a min-heap on score (ties keep the earlier item). */
class TopK<T> {
  private readonly scores: number[] = [];
  private readonly items: T[] = [];
  private readonly order: number[] = [];
  private seq = 0;

  constructor(private readonly capacity: number) {}

  /** Whether an item of this score would be kept (cheap: checked before one is made). */
  admits(score: number): boolean {
    return this.capacity > 0 && (this.scores.length < this.capacity || score > (this.scores[0] as number));
  }

  push(score: number, item: T): void {
    const seq = this.seq++;
    if (this.scores.length < this.capacity) {
      this.scores.push(score);
      this.items.push(item);
      this.order.push(seq);
      this.up(this.scores.length - 1);
    } else {
      this.scores[0] = score;
      this.items[0] = item;
      this.order[0] = seq;
      this.down(0);
    }
  }

  /** Best first; equal scores in the order they were pushed. */
  best(): T[] {
    const at = this.scores.map((_, i) => i);
    at.sort((a, b) => (this.scores[b] as number) - (this.scores[a] as number) || (this.order[a] as number) - (this.order[b] as number));
    return at.map((i) => this.items[i] as T);
  }

  /** a is below b in the heap: lower score, or the same score and pushed later (dropped first). */
  private below(a: number, b: number): boolean {
    const sa = this.scores[a] as number;
    const sb = this.scores[b] as number;
    return sa < sb || (sa === sb && (this.order[a] as number) > (this.order[b] as number));
  }

  private swap(a: number, b: number): void {
    [this.scores[a], this.scores[b]] = [this.scores[b] as number, this.scores[a] as number];
    [this.items[a], this.items[b]] = [this.items[b] as T, this.items[a] as T];
    [this.order[a], this.order[b]] = [this.order[b] as number, this.order[a] as number];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.below(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let low = i;
      if (l < n && this.below(l, low)) low = l;
      if (r < n && this.below(r, low)) low = r;
      if (low === i) return;
      this.swap(i, low);
      i = low;
    }
  }
}

function cosineTo(query: Float32Array, queryNorm: number, v: Float32Array, norm: number): number {
  const n = v.length;
  if (n !== query.length || queryNorm === 0 || norm === 0) return 0;
  // Four running sums: independent multiply-adds the CPU can overlap (the loop visits every vector).
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    a += (v[i] as number) * (query[i] as number);
    b += (v[i + 1] as number) * (query[i + 1] as number);
    c += (v[i + 2] as number) * (query[i + 2] as number);
    d += (v[i + 3] as number) * (query[i + 3] as number);
  }
  for (; i < n; i++) a += (v[i] as number) * (query[i] as number);
  return (a + b + c + d) / (norm * queryNorm);
}
