import { factKeyId } from '../../domain/fact.js';
import { tokenize } from '../../domain/tokens.js';
import { type ScopeView, readsThePast } from '../../store/fact-reader.js';
import type { TenantReads } from '../../store/tenant-reads.js';
import type { ScopeTextCandidates, TextCandidate } from '../../store/retrieval-reader.js';
import type { ScopeRecord } from '../../store/scope-registry.js';
import { scanText } from './past-search.js';
import { FEEDBACK, type Resolver, feedbackPostingLimit, type Scored, bm25, feedbackTerms, fuse, similarities } from './relevance.js';

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
export async function relevantFacts(
  reads: TenantReads,
  view: ScopeView,
  q: RelevanceQuery,
  now: number,
  depth: number,
  /**
   * Widen the text query by the words its best hits share (relevance.ts FEEDBACK): context
   * windows want the facts tied to what is asked; a search answers with the facts holding its words.
   */
  feedback = false,
): Promise<Scored[]> {
  const tokens = q.query ? tokenize(q.query) : [];
  const resolve = (scope: ScopeRecord, candidates: readonly TextCandidate[]) => reads.resolveCandidates(scope, candidates, now);
  const text = q.query ? await textOfView(reads, view, tokens, depth, resolve, feedback, now) : null;
  const vector = q.queryEmbedding ? similarities(await reads.nearestVectors(view, Float32Array.from(q.queryEmbedding), depth, now)) : null;
  return fuse(text, vector, depth);
}

/**
 * A scope forked at a past moment reads its source's layers as they stood then, and the postings
 * hold them as they are now: the facts of such scopes are scored by a scan of what they read (no
 * feedback), the other scopes of the view by the index. Of a fact found in both, the better score.
 */
async function textOfView(reads: TenantReads, view: ScopeView, tokens: readonly string[], depth: number, resolve: Resolver, feedback: boolean, now: number) {
  if (!readsThePast(view, { now })) return textRelevance(reads, view, tokens, depth, resolve, feedback);
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const past = scopes.filter((s) => s.cutoffs !== undefined);
  const present = scopes.filter((s) => s.cutoffs === undefined);
  const scanned = await scanText(reads, { kind: 'all', scopes: past }, tokens, { now });
  if (present.length === 0) return scanned;
  const indexed = await textRelevance(reads, { kind: 'all', scopes: present }, tokens, depth, resolve, feedback);
  for (const [identity, hit] of scanned) {
    const held = indexed.get(identity);
    if (held === undefined || hit.score > held.score) indexed.set(identity, hit);
  }
  return indexed;
}

/** BM25 of the query, then again with the feedback terms its best hits share (relevance.ts FEEDBACK). */
async function textRelevance(reads: TenantReads, view: ScopeView, tokens: readonly string[], depth: number, resolve: Resolver, feedback: boolean) {
  if (tokens.length === 0) return bm25([], tokens, depth, resolve);
  const own = await reads.textCandidates(view, tokens);
  const first = await bm25(own, tokens, depth, resolve);
  const terms = feedback ? feedbackTerms(first, tokens) : [];
  if (terms.length === 0) return first;
  // The feedback terms are read only while they stay rare in the view's largest scope.
  const documents = Math.max(0, ...own.map((scope) => scope.documents));
  const widened = await reads.textCandidates(view, terms, feedbackPostingLimit(documents));
  return bm25(mergeCandidates(own, widened), [...tokens, ...terms], depth, resolve, new Map(terms.map((t) => [t, FEEDBACK.weight])));
}

/**
 * The candidates of two token sets over the same scopes, one per fact: term frequencies of the
 * same layer are joined; of two layers, the nearer one of the chain wins (the farther version was
 * replaced, and resolving checks the layer again anyway).
 */
function mergeCandidates(a: readonly ScopeTextCandidates[], b: readonly ScopeTextCandidates[]): ScopeTextCandidates[] {
  return a.map((scope, i) => {
    const other = b[i]?.candidates ?? [];
    const rank = new Map(scope.scope.chain.map((layer, at) => [layer, at]));
    const byFact = new Map<string, TextCandidate>();
    for (const c of [...scope.candidates, ...other]) {
      const id = factKeyId(c.key);
      const held = byFact.get(id);
      if (held === undefined) byFact.set(id, c);
      else if (held.layer === c.layer) byFact.set(id, { ...held, tf: new Map([...held.tf, ...c.tf]) });
      else if ((rank.get(c.layer) ?? Number.POSITIVE_INFINITY) < (rank.get(held.layer) ?? Number.POSITIVE_INFINITY)) byFact.set(id, c);
    }
    return { ...scope, candidates: [...byFact.values()] };
  });
}
