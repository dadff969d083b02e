/**
 * What one query evaluation carries everywhere: its counters (exposed to callers so that tests
 * and the service can see how much work a query did) and its cancellation signal.
 */

export interface EvalStats {
  /** FactSource.match calls (each one a store range scan). */
  matchCalls: number;
  /** FactSource.estimate calls. */
  estimateCalls: number;
  /** Stored facts read through match. */
  storedFactsRead: number;
  /** Tuples added to answer tables of derived relations (stored facts of derived relations included). */
  derivedTuples: number;
  /** Demand (magic / goal) tuples: which bound arguments were asked for. */
  demandTuples: number;
  /** Semi-naive rounds over all instances. */
  rounds: number;
  /** Evaluation instances (one per derived component and binding pattern asked). */
  instances: number;
}

export function emptyStats(): EvalStats {
  return { matchCalls: 0, estimateCalls: 0, storedFactsRead: 0, derivedTuples: 0, demandTuples: 0, rounds: 0, instances: 0 };
}

export interface RunContext {
  readonly stats: EvalStats;
  readonly signal: AbortSignal | undefined;
  /** Keep the first derivation of every derived tuple (rows with their premises). */
  readonly withProof: boolean;
}

/** Throws the signal's reason once the caller aborted (checked between rounds and steps). */
export function checkAbort(context: RunContext): void {
  context.signal?.throwIfAborted();
}
