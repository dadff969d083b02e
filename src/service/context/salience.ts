/**
 * Salience: the score that orders a context window, a weighted sum of features (documented in
 * the "Context for agents" section of the root README.md). The tiers are far apart so that each dominates everything below it: a
 * goal answer outranks every premise, a premise every fact that only shares a constant with a
 * goal, and so on; confidence, recency and access frequency (each at most 1 before weighting)
 * order the facts within a tier.
 */
export const SALIENCE_WEIGHTS = {
  /** A fact derived by the rules as an answer to a goal (an entry with provenance). */
  goalAnswer: 120,
  /** A stored fact that answers a goal, or that a goal answer's proof uses as a premise. */
  goalPremise: 100,
  /** A stored fact with an argument equal to a constant of a goal or of a goal's answers. */
  goalConstant: 10,
  /**
   * Times the query relevance (0..1: BM25 and vector similarity fused, retrieval/relevance.ts) when
   * the request has a `query` or `queryEmbedding`: above focus and goal constants, below goal premises.
   */
  queryRelevance: 20,
  /** A fact whose predicate is one of the request's `predicates`. */
  predicateFocus: 5,
  /** Times the fact's confidence (0..1). */
  confidence: 1,
  /** Times its recency: (updatedAt − oldest) / (newest − oldest) over the candidates (1 when all are equal). */
  recency: 1,
  /** Times its access frequency: n / (n + ACCESS_HALF_SATURATION), n = earlier windows of the tenant that included it. */
  access: 0.5,
} as const;

/** The access count at which the access feature reaches one half: the first few inclusions matter most. */
export const ACCESS_HALF_SATURATION = 3;

/** What is known of a stored fact before the whole candidate set has been seen. */
export interface SalienceFeatures {
  readonly goalPremise: boolean;
  readonly sharesGoalConstant: boolean;
  readonly focused: boolean;
  readonly confidence: number;
  readonly accessCount: number;
}

/** Everything but recency, which needs the time range of the whole candidate set. */
export function baseSalience(f: SalienceFeatures): number {
  const w = SALIENCE_WEIGHTS;
  let score = w.confidence * f.confidence + (w.access * f.accessCount) / (f.accessCount + ACCESS_HALF_SATURATION);
  if (f.goalPremise) score += w.goalPremise;
  if (f.sharesGoalConstant) score += w.goalConstant;
  if (f.focused) score += w.predicateFocus;
  return score;
}

export interface TimeRange {
  readonly oldest: number;
  readonly newest: number;
}

export function recency(time: number, range: TimeRange): number {
  return range.newest === range.oldest ? 1 : (time - range.oldest) / (range.newest - range.oldest);
}

/** The final salience of a stored fact. */
export function salienceOf(base: number, time: number, range: TimeRange): number {
  return base + SALIENCE_WEIGHTS.recency * recency(time, range);
}

/** A derived goal answer: its tier plus its confidence (the weakest premise's); it has no time of its own. */
export function answerSalience(confidence: number): number {
  return SALIENCE_WEIGHTS.goalAnswer + SALIENCE_WEIGHTS.confidence * confidence;
}
