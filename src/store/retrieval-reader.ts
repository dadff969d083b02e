import { type FactKey, type StoredFact, isVisibleAt } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import type { EntryValue } from '../encoding/records.js';
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
import type { ScopeRecord } from './scope-registry.js';
import type { LayerVectors } from './vector-cache.js';

/** A fact of a scope that holds at least one query token, with what BM25 needs of it. */
export interface TextMatch {
  readonly fact: StoredFact;
  /** Term frequency of each query token the fact holds. */
  readonly tf: ReadonlyMap<string, number>;
  /** Tokens in the fact's document. */
  readonly length: number;
}

/** One scope's matches and its collection statistics (documents and total length over its chain). */
export interface ScopeTextMatches {
  readonly scope: string;
  readonly documents: number;
  readonly totalLength: number;
  readonly matches: readonly TextMatch[];
}

interface Candidate {
  readonly key: FactKey;
  /** Per layer: the postings of this fact there (token → tf) and its document length. */
  readonly layers: Map<LayerId, { tf: Map<string, number>; length: number }>;
}

/**
 * The facts of each scope of the view that hold any of the tokens: one scan of the postings per
 * token, then one multi-get of the candidates' fact entries over the view's layers. A posting
 * counts only when its layer is the nearest of the scope's chain where the fact has an entry and
 * that entry is a visible record (a nearer upsert, tombstone or expiry decides otherwise).
 */
export async function textMatches(keyspace: KeyspaceReader, view: ScopeView, tokens: readonly string[], now: number): Promise<ScopeTextMatches[]> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const candidates = new Map<string, Candidate>();
  for (const token of new Set(tokens)) {
    for await (const [raw, value] of scanRange(keyspace, postingRange(token))) {
      const { key, group, layer } = decodePostingKey(raw);
      const candidate = candidates.get(group) ?? { key, layers: new Map() };
      candidates.set(group, candidate);
      const { tf, length } = decodePosting(value);
      const at = candidate.layers.get(layer) ?? { tf: new Map<string, number>(), length };
      at.tf.set(token, tf);
      candidate.layers.set(layer, at);
    }
  }
  const list = [...candidates.values()];
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  const entries: Map<LayerId, EntryValue>[] = [];
  for (let i = 0; i < list.length; i += 2000) entries.push(...(await entriesIn(keyspace, list.slice(i, i + 2000).map((c) => c.key), layers)));
  const out: ScopeTextMatches[] = [];
  for (const scope of scopes) {
    const matches: TextMatch[] = [];
    list.forEach((candidate, i) => {
      const versions = entries[i] ?? new Map<LayerId, EntryValue>();
      const found = nearestIn(scope.chain, versions);
      if (found === null) return;
      const entry = versions.get(found);
      if (entry?.kind !== 'record' || !isVisibleAt(entry.record, now)) return;
      const postings = candidate.layers.get(found);
      if (postings === undefined) return;
      matches.push({ fact: { ...candidate.key, scope: scope.name, ...entry.record }, tf: postings.tf, length: postings.length });
    });
    out.push({ scope: scope.name, ...(await chainStats(keyspace, scope)), matches });
  }
  return out;
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
 * The `depth` visible facts of the view most similar to the query (exact: every vector of the
 * view is compared). Per scope, a fact's vector is the one of the nearest layer of its chain that
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
  vectorsOf: (layer: LayerId) => Promise<LayerVectors>,
): Promise<VectorMatch[]> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const norm = Math.sqrt(query.reduce((sum, x) => sum + x * x, 0));
  const similarity = new Map<LayerId, Map<string, number>>();
  const candidates: { scope: ScopeRecord; key: FactKey; layer: LayerId; similarity: number }[] = [];
  for (const scope of scopes) {
    const seen = new Set<string>();
    for (const layer of scope.chain) {
      const vectors = await vectorsOf(layer);
      let scores = similarity.get(layer);
      if (scores === undefined) {
        scores = new Map();
        for (const [group, { vector }] of vectors) scores.set(group, cosineTo(query, norm, vector));
        similarity.set(layer, scores);
      }
      for (const [group, { key }] of vectors) {
        if (seen.has(group)) continue;
        seen.add(group);
        candidates.push({ scope, key, layer, similarity: scores.get(group) ?? 0 });
      }
    }
  }
  candidates.sort((a, b) => b.similarity - a.similarity);
  const out: VectorMatch[] = [];
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  for (let at = 0; at < candidates.length && out.length < depth; at += 2 * depth) {
    const round = candidates.slice(at, at + 2 * depth);
    const entries = await entriesIn(keyspace, round.map((c) => c.key), layers);
    round.forEach((c, i) => {
      if (out.length >= depth) return;
      const versions = entries[i] ?? new Map<LayerId, EntryValue>();
      const found = nearestIn(c.scope.chain, versions);
      const entry = found === null ? undefined : versions.get(found);
      if (found !== c.layer || entry?.kind !== 'record' || !isVisibleAt(entry.record, now)) return;
      out.push({ fact: { ...c.key, scope: c.scope.name, ...entry.record }, similarity: c.similarity });
    });
  }
  return out;
}

function cosineTo(query: Float32Array, queryNorm: number, v: Float32Array): number {
  if (v.length !== query.length || queryNorm === 0) return 0;
  let dot = 0;
  let nv = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    dot += x * (query[i] as number);
    nv += x * x;
  }
  return nv === 0 ? 0 : dot / (Math.sqrt(nv) * queryNorm);
}
