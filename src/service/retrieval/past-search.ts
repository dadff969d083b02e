import { type StoredFact, factKeyId } from '../../domain/fact.js';
import { documentOf, tokenize } from '../../domain/tokens.js';
import type { ScopeView } from '../../store/fact-reader.js';
import type { TenantReads } from '../../store/tenant-reads.js';
import { BM25, type Scored } from './relevance.js';

/**
 * Text search of the tenant as it stood at a past moment. The retrieval indexes hold the present
 * only (a retract removes a fact's postings), so this reads every fact of the view as of then and
 * scores it with the same BM25 (k1, b, idf over the facts of each scope then). Linear in the
 * view's facts: a question about the past, not a hot path.
 */
export async function pastTextSearch(reads: TenantReads, view: ScopeView, query: string, asOf: number, limit: number): Promise<Scored[]> {
  const ranked = [...(await scanText(reads, view, tokenize(query), { now: asOf, asOf })).entries()]
    .sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit);
  const top = ranked[0]?.[1].score ?? 0;
  return ranked.map(([identity, { fact, score, matched }]) => {
    const text = top > 0 ? score / top : 0;
    return { fact, identity, text, matched, vector: null, relevance: text };
  });
}

/**
 * BM25 of every fact the view reads (at `asOf`, or now), one per fact identity: the indexes hold
 * each layer as it is now, so a read of the past (asOf, or a scope forked at a past moment, whose
 * source layers are read as they stood then) scores the facts it reads, by a scan.
 */
export async function scanText(
  reads: TenantReads,
  view: ScopeView,
  query: readonly string[],
  at: { readonly now: number; readonly asOf?: number },
): Promise<Map<string, { fact: StoredFact; score: number; matched: string[] }>> {
  const tokens = [...new Set(query)];
  const best = new Map<string, { fact: StoredFact; score: number; matched: string[] }>();
  if (tokens.length === 0) return best;
  const scopes = view.kind === 'scope' ? [view.scope.name] : view.scopes.map((s) => s.name);
  const perScope = new Map<string, { documents: number; totalLength: number; hits: { fact: StoredFact; tf: Map<string, number>; length: number }[] }>(
    scopes.map((name) => [name, { documents: 0, totalLength: 0, hits: [] }]),
  );
  for await (const { fact } of reads.allFacts(view, at.asOf === undefined ? { now: at.now } : { now: at.now, asOf: at.asOf })) {
    const scope = perScope.get(fact.scope);
    if (!scope) continue;
    const doc = documentOf(fact, fact.metadata);
    scope.documents++;
    scope.totalLength += doc.length;
    const tf = new Map(tokens.filter((t) => doc.terms.has(t)).map((t) => [t, doc.terms.get(t) as number]));
    if (tf.size > 0) scope.hits.push({ fact, tf, length: doc.length });
  }
  for (const scope of perScope.values()) {
    const avg = scope.documents > 0 ? scope.totalLength / scope.documents : 1;
    const df = new Map<string, number>();
    for (const hit of scope.hits) for (const token of hit.tf.keys()) df.set(token, (df.get(token) ?? 0) + 1);
    for (const hit of scope.hits) {
      let score = 0;
      for (const [token, tf] of hit.tf) {
        const d = df.get(token) ?? 1;
        const idf = Math.log(1 + (scope.documents - d + 0.5) / (d + 0.5));
        score += (idf * tf * (BM25.k1 + 1)) / (tf + BM25.k1 * (1 - BM25.b + (BM25.b * hit.length) / avg));
      }
      const identity = factKeyId(hit.fact);
      const held = best.get(identity);
      if (held === undefined || score > held.score) best.set(identity, { fact: hit.fact, score, matched: [...hit.tf.keys()] });
    }
  }
  return best;
}
