import { type StoredFact, type Term, factKeyId } from '../../domain/fact.js';
import type { Candidate, CandidatePool } from './candidate-pool.js';
import type { DerivedAnswer, Provenance } from './goals.js';
import { answerSalience, salienceOf } from './salience.js';

/** One entry of a context window: a stored fact (provenance null) or a derived goal answer. */
export interface WindowEntry {
  /** Canonical fact key (predicate, negated, args): what "no duplicates" and diffs compare. */
  readonly identity: string;
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  readonly scope: string | null;
  readonly confidence: number;
  readonly createdAt: number | null;
  readonly salience: number;
  readonly provenance: Provenance | null;
  /** Which signals put it there (windows built with a query only). */
  readonly why?: EntryWhy;
}

/** The signals of an entry of a window built with a query. */
export interface EntryWhy {
  readonly text: number | null;
  readonly matched: readonly string[];
  readonly vector: number | null;
  readonly relevance: number;
  readonly goal: boolean;
  readonly focus: boolean;
  readonly confidence: number;
  readonly recency: number;
  readonly access: number;
}

export interface SelectionLimits {
  readonly maxFacts: number;
  readonly maxFactsPerPredicate: number | null;
  /** Drop the lower-salience side of p / NOT p (the default), or keep both. */
  readonly dropContradictions: boolean;
}

function storedEntry(fact: StoredFact, identity: string, salience: number): WindowEntry {
  const { predicate, args, negated, scope, confidence, createdAt } = fact;
  return { identity, predicate, args, negated, scope, confidence, createdAt, salience, provenance: null };
}

export function answerEntry(answer: DerivedAnswer, scope: string | null): WindowEntry {
  const { identity, predicate, args, negated, confidence, provenance } = answer;
  return { identity, predicate, args, negated, scope, confidence, createdAt: null, salience: answerSalience(confidence), provenance };
}

/** Best first: salience, then canonical key. */
export function compareEntries(a: WindowEntry, b: WindowEntry): number {
  if (a.salience !== b.salience) return b.salience - a.salience;
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

/**
 * Every remaining candidate with its final salience, plus the derived answers no stored fact
 * already states. `baseOf` may score candidates afresh (access counts rose since the scan).
 */
export function rankEntries(
  pool: CandidatePool<StoredFact>,
  answers: readonly DerivedAnswer[],
  scope: string | null,
  baseOf: (candidate: Candidate<StoredFact>) => number = (candidate) => candidate.base,
): WindowEntry[] {
  const range = pool.timeRange;
  const ranked = pool.candidates.map((c) => storedEntry(c.payload, c.identity, salienceOf(baseOf(c), c.time, range)));
  const stored = new Set(ranked.map((e) => e.identity));
  for (const answer of answers) if (!stored.has(answer.identity)) ranked.push(answerEntry(answer, scope));
  return ranked.sort(compareEntries);
}

/**
 * Take entries best first up to maxFacts, at most maxFactsPerPredicate per predicate; unless
 * contradictions are kept, a fact whose opposite ranks higher is dropped (and takes no slot).
 */
export function selectEntries(ranked: readonly WindowEntry[], limits: SelectionLimits): WindowEntry[] {
  const selected: WindowEntry[] = [];
  const seen = new Set<string>();
  const perPredicate = new Map<string, number>();
  for (const entry of ranked) {
    if (selected.length >= limits.maxFacts) break;
    // A full predicate skips the entry before the contradiction check: its opposite shares the predicate.
    const count = perPredicate.get(entry.predicate) ?? 0;
    if (limits.maxFactsPerPredicate !== null && count >= limits.maxFactsPerPredicate) continue;
    if (entry.provenance === null) {
      const beaten = limits.dropContradictions && seen.has(factKeyId({ ...entry, negated: !entry.negated }));
      seen.add(entry.identity);
      if (beaten) continue;
    }
    perPredicate.set(entry.predicate, count + 1);
    selected.push(entry);
  }
  return selected;
}
