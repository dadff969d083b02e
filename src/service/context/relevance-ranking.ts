import type { StoredFact } from '../../domain/fact.js';
import type { Scored } from '../retrieval/relevance.js';
import type { CandidatePool } from './candidate-pool.js';
import type { DerivedAnswer } from './goals.js';
import { ACCESS_HALF_SATURATION, SALIENCE_WEIGHTS, recency, salienceOf } from './salience.js';
import { type EntryWhy, type WindowEntry, answerEntry, compareEntries } from './selection.js';

/** What `why` reports besides the relevance signals. */
export interface WhyContext {
  readonly base: (fact: StoredFact, identity: string) => number;
  readonly isPremise: (identity: string) => boolean;
  readonly focus: ReadonlySet<string>;
  readonly accessCounts: ReadonlyMap<string, number>;
}

/**
 * Rank a window built with a query: salience plus queryRelevance × the fused relevance, over the
 * pool's candidates (the best by salience alone: relevance only adds, so a pruned fact is still
 * beaten by those that pruned it) and the most relevant facts of the query (retrieval.ts).
 * Facts below the relevance depth count relevance 0.
 */
export function rankWithRelevance(
  pool: CandidatePool<StoredFact>,
  answers: readonly DerivedAnswer[],
  scope: string | null,
  scored: readonly Scored[],
  context: WhyContext,
): WindowEntry[] {
  const range = pool.timeRange;
  const byIdentity = new Map(scored.map((s) => [s.identity, s]));
  const ranked: WindowEntry[] = [];
  const add = (fact: StoredFact, identity: string) => {
    const s = byIdentity.get(identity);
    const relevance = s?.relevance ?? 0;
    const salience = salienceOf(context.base(fact, identity), fact.updatedAt, range) + SALIENCE_WEIGHTS.queryRelevance * relevance;
    const n = context.accessCounts.get(identity) ?? 0;
    const why: EntryWhy = {
      text: s?.text ?? null,
      matched: s?.matched ?? [],
      vector: s?.vector ?? null,
      relevance,
      goal: context.isPremise(identity),
      focus: context.focus.has(fact.predicate),
      confidence: fact.confidence,
      recency: recency(fact.updatedAt, range),
      access: n / (n + ACCESS_HALF_SATURATION),
    };
    const { predicate, args, negated, confidence, createdAt } = fact;
    ranked.push({ identity, predicate, args, negated, scope: fact.scope, confidence, createdAt, salience, provenance: null, why });
  };
  const seen = new Set<string>();
  for (const c of pool.candidates) {
    seen.add(c.identity);
    add(c.payload, c.identity);
  }
  for (const s of scored) if (!seen.has(s.identity)) add(s.fact, s.identity);
  for (const answer of answers) {
    if (seen.has(answer.identity) || byIdentity.has(answer.identity)) continue;
    const entry = answerEntry(answer, scope);
    ranked.push({ ...entry, why: { text: null, matched: [], vector: null, relevance: 0, goal: true, focus: context.focus.has(entry.predicate), confidence: entry.confidence, recency: 0, access: 0 } });
  }
  return ranked.sort(compareEntries);
}
