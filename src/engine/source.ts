import type { FactPattern, Term } from '../domain/fact.js';

/** One stored fact as the engine sees it: its arguments, plus an opaque handle the caller gets back in proofs. */
export interface SourceFact {
  readonly args: readonly Term[];
  /** Opaque to the engine (the service puts the full stored fact here); returned untouched in answers and proofs. */
  readonly ref?: unknown;
}

/**
 * The only view of stored facts the engine has. The service binds it to one tenant and one scope
 * view (a single scope, or all scopes), so nothing the engine does can reach beyond that.
 */
export interface FactSource {
  /** Stored facts whose predicate, arity and polarity equal the pattern's and whose bound positions (non-undefined) are equal. */
  match(pattern: FactPattern): AsyncIterable<SourceFact>;
  /** A cheap upper-bound-ish estimate of how many facts `match(pattern)` yields; used only for planning. */
  estimate(pattern: FactPattern): Promise<number>;
}
