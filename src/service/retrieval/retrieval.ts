import { tokenize } from '../../domain/tokens.js';
import type { ScopeView } from '../../store/fact-reader.js';
import type { TenantReads } from '../../store/tenant-reads.js';
import type { TextCandidate } from '../../store/retrieval-reader.js';
import type { ScopeRecord } from '../../store/scope-registry.js';
import { type Scored, bm25, fuse, similarities } from './relevance.js';

/** What a request asks to be relevant to: free text, a client-computed vector, or both. */
export interface RelevanceQuery {
  readonly query?: string | null | undefined;
  readonly queryEmbedding?: readonly number[] | null | undefined;
}

export function hasRelevanceQuery(q: RelevanceQuery): boolean {
  return (q.query !== undefined && q.query !== null && q.query.trim() !== '') || (q.queryEmbedding !== undefined && q.queryEmbedding !== null);
}

/**
 * The facts of the view most relevant to the query, best first, at most `depth` per signal
 * (text: BM25 over the store's inverted index; vector: exact cosine over the stored embeddings).
 */
export async function relevantFacts(reads: TenantReads, view: ScopeView, q: RelevanceQuery, now: number, depth: number): Promise<Scored[]> {
  const tokens = q.query ? tokenize(q.query) : [];
  const resolve = (scope: ScopeRecord, candidates: readonly TextCandidate[]) => reads.resolveCandidates(scope, candidates, now);
  const text = q.query ? await bm25(tokens.length === 0 ? [] : await reads.textCandidates(view, tokens), tokens, depth, resolve) : null;
  const vector = q.queryEmbedding ? similarities(await reads.nearestVectors(view, Float32Array.from(q.queryEmbedding), depth, now)) : null;
  return fuse(text, vector, depth);
}
