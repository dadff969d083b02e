import { type StoredFact, factKeyId, isVisibleAt } from '../../domain/fact.js';
import type { ScopeView } from '../../store/fact-reader.js';
import type { TenantReads } from '../../store/tenant-reads.js';
import { CandidatePool } from './candidate-pool.js';
import type { GoalEvidence } from './goals.js';
import { baseSalience } from './salience.js';

/** At most this many contradictions are listed in a window (all are counted). */
export const MAX_LISTED_CONTRADICTIONS = 50;

/** p and NOT p, both visible. */
export interface Contradiction {
  readonly positive: StoredFact;
  readonly negative: StoredFact;
}

export interface ScanSpec {
  readonly evidence: GoalEvidence;
  readonly focus: ReadonlySet<string>;
  /** Access counts of (at least) the facts being scored; absent means never included in a window. */
  readonly accessCounts: ReadonlyMap<string, number>;
  /** Group candidates by predicate (a per-predicate cap applies) or not. */
  readonly byPredicate: boolean;
  /** Per group, how many candidates must beat one before it is dropped (see CandidatePool). */
  readonly keep: number;
  /** Extra beaters kept per group, so that that many removals can be applied without a new pass. */
  readonly margin: number;
  /** The pool's pruning threshold (tests lower it to prune small tenants). */
  readonly pruneFloor?: number;
}

/**
 * What a pass found. Later writes update it in place (incremental.ts), so it stays what a new pass
 * would find.
 */
export interface ScanResult {
  readonly pool: CandidatePool<StoredFact>;
  /** Distinct visible facts (a fact in several scopes counts once): the pool's size. */
  readonly available: number;
  contradictionsFound: number;
  /** The first MAX_LISTED_CONTRADICTIONS, in index order (their positive side's). */
  contradictions: Contradiction[];
  /** The first future time at which a scanned fact appears or disappears (ttl, validity), or null. */
  nextVisibilityChange: number | null;
  /**
   * `scope \0 identity` of every stored record that was not visible at the pass (expired, not yet
   * valid) in a scope of the view; null when there were more than MAX_INVISIBLE_KEPT.
   */
  invisible: Set<string> | null;
}

/** Invisible records remembered by a pass at most (past it, writes over them need a new pass). */
export const MAX_INVISIBLE_KEPT = 10_000;

export const invisibleKey = (scope: string, identity: string) => `${scope}\0${identity}`;

/** Candidates scored together: their access counts are one multi-get. */
const COUNT_BATCH = 512;

/**
 * One streaming pass over every fact of the view. Versions of one fact (one per scope) are
 * adjacent, and so are p and NOT p: deduplication and contradiction detection need only the
 * previous fact, and the pool keeps what can still make the window.
 *
 * Access counts are read for the candidates only, a batch at a time, into `counts` (which must be
 * `spec.accessCounts`): a window over a small view of a large tenant never reads the tenant's other
 * counts, and a tenant no window has counted yet reads none.
 */
export async function scanCandidates(
  reads: TenantReads,
  view: ScopeView,
  now: number,
  spec: ScanSpec,
  counts: Map<string, number>,
  /** Read the facts as the tenant stood at this moment (transaction time); `now` is then that moment too. */
  asOf?: number,
): Promise<ScanResult> {
  const pool = new CandidatePool<StoredFact>(spec.keep, { margin: spec.margin, ...(spec.pruneFloor === undefined ? {} : { pruneFloor: spec.pruneFloor }) });
  const contradictions: Contradiction[] = [];
  let invisible: Set<string> | null = new Set();
  let found = 0;
  let nextChange: number | null = null;
  let previous: StoredFact | null = null;
  let pending: { fact: StoredFact; group: string } | null = null;
  const counted = await reads.hasAccessCounts();
  const scoring: { fact: StoredFact; identity: string }[] = [];
  const score = async () => {
    if (counted) for (const [identity, n] of await reads.accessCountsOf(scoring.map((s) => s.identity))) counts.set(identity, n);
    for (const { fact, identity } of scoring) {
      pool.add({ identity, group: spec.byPredicate ? fact.predicate : '', base: baseOf(fact, identity, spec), time: fact.updatedAt, payload: fact });
    }
    scoring.length = 0;
  };
  const emit = async (fact: StoredFact) => {
    const identity = factKeyId(fact);
    if (previous && fact.negated && !previous.negated && factKeyId({ ...fact, negated: false }) === factKeyId(previous)) {
      found++;
      if (contradictions.length < MAX_LISTED_CONTRADICTIONS) contradictions.push({ positive: previous, negative: fact });
    }
    previous = fact;
    scoring.push({ fact, identity });
    if (scoring.length >= COUNT_BATCH) await score();
  };
  for await (const { fact, group } of reads.allFacts(view, { now, includeInvisible: true, ...(asOf === undefined ? {} : { asOf }) })) {
    const change = visibilityChangeAfter(fact, now);
    if (change !== null && (nextChange === null || change < nextChange)) nextChange = change;
    if (!isVisibleAt(fact, now)) {
      if (invisible !== null) invisible = invisible.size < MAX_INVISIBLE_KEPT ? invisible.add(invisibleKey(fact.scope, factKeyId(fact))) : null;
      continue;
    }
    if (pending && pending.group === group) {
      if (preferred(fact, pending.fact)) pending = { fact, group };
      continue;
    }
    if (pending) await emit(pending.fact);
    pending = { fact, group };
  }
  if (pending) await emit(pending.fact);
  await score();
  pool.compact();
  // Only the kept candidates' counts are needed from here on (ranking, catching up).
  for (const identity of counts.keys()) if (pool.get(identity) === undefined) counts.delete(identity);
  return {
    pool,
    get available() {
      return pool.size;
    },
    contradictionsFound: found,
    contradictions,
    nextVisibilityChange: nextChange,
    invisible,
  };
}

/** A fact's salience without recency, under a scan's goals, focus and access counts. */
export function baseOf(fact: StoredFact, identity: string, spec: Pick<ScanSpec, 'evidence' | 'focus' | 'accessCounts'>): number {
  const { evidence } = spec;
  return baseSalience({
    goalPremise: evidence.premises.has(identity),
    sharesGoalConstant: evidence.constants.size > 0 && fact.args.some((arg) => evidence.constants.has(JSON.stringify(arg))),
    focused: spec.focus.has(fact.predicate),
    confidence: fact.confidence,
    accessCount: spec.accessCounts.get(identity) ?? 0,
  });
}

/** Of one fact held by several scopes: the most confident version, then the most recent (scopes come in name order). */
export function preferred(candidate: StoredFact, current: StoredFact): boolean {
  if (candidate.confidence !== current.confidence) return candidate.confidence > current.confidence;
  return candidate.updatedAt > current.updatedAt;
}

/** The next instant after `now` at which the fact's visibility flips, if any. */
export function visibilityChangeAfter(fact: StoredFact, now: number): number | null {
  let next: number | null = null;
  for (const at of [fact.expiresAt, fact.validFrom, fact.validUntil]) {
    if (at !== null && at > now && (next === null || at < next)) next = at;
  }
  return next;
}
