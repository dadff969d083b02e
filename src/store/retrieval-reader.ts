import { CorruptionError } from '../domain/errors.js';
import { type FactKey, type StoredFact, isVisibleAt } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import type { EntryValue } from '../encoding/records.js';
import {
  decodeLayerStats,
  decodePosting,
  decodePostingKey,
  decodeVector,
  decodeVectorKey,
  layerStatsKey,
  postingRange,
  vectorRange,
} from '../encoding/retrieval-keys.js';
import type { ScopeView } from './fact-reader.js';
import { entriesIn } from './layer-reader.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import type { ScopeRecord } from './scope-registry.js';

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

/** A visible fact of a scope with its embedding. */
export interface VectorCandidate {
  readonly fact: StoredFact;
  readonly embedding: Float32Array;
}

/**
 * Every visible fact of the view that has an embedding (exact search reads them all): one scan of
 * the vectors of each layer of the view, then the candidates' entries, resolved like textMatches.
 */
export async function vectorCandidates(keyspace: KeyspaceReader, view: ScopeView, now: number): Promise<VectorCandidate[]> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  const candidates = new Map<string, { key: FactKey; vectors: Map<LayerId, Float32Array> }>();
  for (const layer of layers) {
    for await (const [raw, value] of scanRange(keyspace, vectorRange(layer))) {
      const { key, group } = decodeVectorKey(raw);
      const vector = decodeVector(value);
      if (vector === null) throw new CorruptionError('fact embedding', raw);
      const candidate = candidates.get(group) ?? { key, vectors: new Map() };
      candidate.vectors.set(layer, vector);
      candidates.set(group, candidate);
    }
  }
  const list = [...candidates.values()];
  const entries: Map<LayerId, EntryValue>[] = [];
  for (let i = 0; i < list.length; i += 2000) entries.push(...(await entriesIn(keyspace, list.slice(i, i + 2000).map((c) => c.key), layers)));
  const out: VectorCandidate[] = [];
  for (const scope of scopes) {
    list.forEach((candidate, i) => {
      const versions = entries[i] ?? new Map<LayerId, EntryValue>();
      const found = nearestIn(scope.chain, versions);
      if (found === null) return;
      const entry = versions.get(found);
      const vector = candidate.vectors.get(found);
      if (entry?.kind !== 'record' || vector === undefined || !isVisibleAt(entry.record, now)) return;
      out.push({ fact: { ...candidate.key, scope: scope.name, ...entry.record }, embedding: vector });
    });
  }
  return out;
}
