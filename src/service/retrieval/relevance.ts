import { type StoredFact, factKeyId } from '../../domain/fact.js';
import { documentOf } from '../../domain/tokens.js';
import type { ScopeTextCandidates, TextCandidate, VectorMatch } from '../../store/retrieval-reader.js';
import type { ScopeRecord } from '../../store/scope-registry.js';

/**
 * Okapi BM25 over a scope's facts (documents = predicate words + string args + string metadata
 * values, domain/tokens.ts). k1 = 1.2: a second occurrence of a word adds a little, a tenth
 * hardly anything (facts are short). b = 0.75: a long fact (big metadata) is discounted against
 * the scope's average length, so a word in a three-word fact counts more than in a fifty-word one.
 * idf = ln(1 + (N − df + 0.5) / (df + 0.5)) with N the scope's documents and df the visible facts
 * of the scope holding the word (always ≥ 0, unlike the original form).
 */
export const BM25 = { k1: 1.2, b: 0.75 } as const;

/**
 * Query relevance fuses the two signals as a weighted sum of normalised scores (documented in the
 * README): text = BM25 / the best BM25 of the query (0..1), vector = max(0, cosine). With both a
 * query and a queryEmbedding, relevance = 0.7·text + 0.3·vector; with one, that one alone. Text
 * weighs more: on the labelled bench (bench/retrieval.ts) equal weights let the vector signal pull
 * in facts that share only character n-grams with the query, and 0.7/0.3 did better on all three tenants.
 */
export const FUSION = { text: 0.7, vector: 0.3 } as const;

/** A fact with the relevance signals it got. */
export interface Scored {
  readonly fact: StoredFact;
  readonly identity: string;
  /** BM25 normalised to the best of the query (null: no query text, or no word matched). */
  readonly text: number | null;
  /** The query words the fact holds (stemmed). */
  readonly matched: readonly string[];
  /** Cosine similarity to the queryEmbedding (null: none sent, or the fact has no embedding). */
  readonly vector: number | null;
  /** Fused relevance, 0..1. */
  readonly relevance: number;
}

/** Resolves candidates of a scope to the facts they stand for (null: hidden, retracted or not visible). */
export type Resolver = (scope: ScopeRecord, candidates: readonly TextCandidate[]) => Promise<(StoredFact | null)[]>;

/**
 * BM25 of the best `depth` matching facts of each scope, one per fact identity (over several
 * scopes: the most confident, then most recent version, as windows do). Scores come from the
 * postings alone; only the best are resolved against the facts, round by round, until `depth`
 * of them are visible. df counts the candidates of the scope (a fact hidden by a nearer tombstone
 * still counts until its layer is collected: df only scales idf).
 */
export async function bm25(
  perScope: readonly ScopeTextCandidates[],
  tokens: readonly string[],
  depth: number,
  resolve: Resolver,
  /** A token's share of the score (feedback terms count less than the query's own words); absent = 1. */
  weights: ReadonlyMap<string, number> = new Map(),
): Promise<Map<string, { fact: StoredFact; score: number; matched: string[] }>> {
  const out = new Map<string, { fact: StoredFact; score: number; matched: string[] }>();
  const unique = [...new Set(tokens)];
  for (const scope of perScope) {
    const n = Math.max(scope.documents, scope.candidates.length, 1);
    const avg = scope.totalLength > 0 && scope.documents > 0 ? scope.totalLength / scope.documents : 1;
    const df = new Map<string, number>();
    for (const c of scope.candidates) for (const token of c.tf.keys()) df.set(token, (df.get(token) ?? 0) + 1);
    const scored = scope.candidates.map((c) => {
      let score = 0;
      const matched: string[] = [];
      for (const token of unique) {
        const tf = c.tf.get(token);
        if (tf === undefined) continue;
        const d = df.get(token) ?? 1;
        const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
        score += ((weights.get(token) ?? 1) * idf * tf * (BM25.k1 + 1)) / (tf + BM25.k1 * (1 - BM25.b + (BM25.b * c.length) / avg));
        if (!weights.has(token)) matched.push(token);
      }
      return { candidate: c, score, matched, id: factKeyId(c.key) };
    });
    scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let accepted = 0;
    for (let at = 0; at < scored.length && accepted < depth; at += 2 * depth) {
      const round = scored.slice(at, at + 2 * depth);
      const facts = await resolve(scope.scope, round.map((r) => r.candidate));
      round.forEach((r, i) => {
        const fact = facts[i];
        if (!fact || accepted >= depth) return;
        accepted++;
        const held = out.get(r.id);
        if (held === undefined || preferredVersion(fact, held.fact)) out.set(r.id, { fact, score: r.score, matched: r.matched });
      });
    }
  }
  return out;
}

/**
 * Pseudo-relevance feedback (in the manner of RM3): the query is widened by the words its best
 * text hits share. Facts about one thing are often tied by an identifier that the question never
 * names (a deal row `deal("D-17", …)` names neither the problem nor the topic the agent asks
 * about; its update and next-step facts do, and carry `D-17`). Terms are taken from the top
 * `FEEDBACK.documents` hits and kept only when at least `FEEDBACK.minShared` of them hold the
 * term: one wrong hit cannot pull in its siblings alone. A kept term weighs like a query word in
 * BM25 (its idf already discounts it), and a term held by more than 1% of the scope's facts (at
 * least 8, at most 1024) is dropped unread: a customer or a person named everywhere ties nothing
 * together. On the labelled bench this took the sales CRM tenant's text recall from 0.76 to 0.90
 * and left the other two as they were; half the weight did worse on it.
 */
export const FEEDBACK = { documents: 3, minShared: 2, weight: 1, maxTerms: 4, rareShare: 0.01, minPostings: 8, maxPostings: 1024 } as const;

/** How many facts a feedback term may be held by, for a collection of this many documents. */
export function feedbackPostingLimit(documents: number): number {
  return Math.min(FEEDBACK.maxPostings, Math.max(FEEDBACK.minPostings, Math.ceil(documents * FEEDBACK.rareShare)));
}

/** The feedback terms of a first text pass (none when fewer than minShared hits). */
export function feedbackTerms(first: ReadonlyMap<string, { fact: StoredFact; score: number }>, queryTokens: readonly string[]): string[] {
  const top = [...first.entries()].sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1)).slice(0, FEEDBACK.documents);
  if (top.length < FEEDBACK.minShared) return [];
  const asked = new Set(queryTokens);
  const shared = new Map<string, number>();
  for (const [, { fact }] of top) {
    for (const term of documentOf(fact, fact.metadata).terms.keys()) if (!asked.has(term)) shared.set(term, (shared.get(term) ?? 0) + 1);
  }
  return [...shared.entries()]
    .filter(([, n]) => n >= FEEDBACK.minShared)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, FEEDBACK.maxTerms)
    .map(([term]) => term);
}

/** One per fact identity (preferred version, as above). */
export function similarities(matches: readonly VectorMatch[]): Map<string, { fact: StoredFact; similarity: number }> {
  const out = new Map<string, { fact: StoredFact; similarity: number }>();
  for (const m of matches) {
    const identity = factKeyId(m.fact);
    const held = out.get(identity);
    if (held === undefined || preferredVersion(m.fact, held.fact)) out.set(identity, { fact: m.fact, similarity: m.similarity });
  }
  return out;
}

/** Of one fact held by several scopes: the most confident version, then the most recent (what windows keep). */
function preferredVersion(candidate: StoredFact, current: StoredFact): boolean {
  if (candidate.confidence !== current.confidence) return candidate.confidence > current.confidence;
  return candidate.updatedAt > current.updatedAt;
}

/**
 * Fuse the signals, best first (ties: canonical key), each fact with its signals. Only the best
 * `limit` of each signal are fused (a fact below them in both counts 0).
 */
export function fuse(
  text: ReadonlyMap<string, { fact: StoredFact; score: number; matched: string[] }> | null,
  vector: ReadonlyMap<string, { fact: StoredFact; similarity: number }> | null,
  limit: number,
): Scored[] {
  const topText = text === null ? [] : [...text.entries()].sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  const topVector = vector === null ? [] : [...vector.entries()].sort((a, b) => b[1].similarity - a[1].similarity || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  const best = topText[0]?.[1].score ?? 0;
  const wText = vector === null ? 1 : text === null ? 0 : FUSION.text;
  const wVector = text === null ? 1 : vector === null ? 0 : FUSION.vector;
  const ids = new Set([...topText.map(([id]) => id), ...topVector.map(([id]) => id)]);
  const out: Scored[] = [];
  for (const identity of ids) {
    const t = text?.get(identity);
    const v = vector?.get(identity);
    const fact = (t?.fact ?? v?.fact) as StoredFact;
    const textScore = t !== undefined && best > 0 ? t.score / best : null;
    const vectorScore = v !== undefined ? v.similarity : null;
    const relevance = wText * (textScore ?? 0) + wVector * Math.max(0, vectorScore ?? 0);
    out.push({ fact, identity, text: textScore, matched: t?.matched ?? [], vector: vectorScore, relevance });
  }
  return out.sort((a, b) => b.relevance - a.relevance || (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
}
