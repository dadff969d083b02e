/**
 * What one query evaluation carries everywhere: its counters (exposed to callers so that tests
 * and the service can see how much work a query did), its cancellation signal and its budget.
 *
 * Long evaluations are cooperative: the join drivers, commits and stored reads call `pace`
 * every few hundred tuples, which yields to the event loop once the evaluation has run for a
 * slice, so one query never holds the process for more than a few ms. Worker threads would not
 * help here: the engine reads the store through the process's one classic-level handle per
 * database (a LevelDB directory can be opened once per process), so a worker would have to
 * ship every scan across threads.
 */
import { QueryBudgetExceededError } from '../domain/errors.js';

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
  /** Times the evaluation yielded to the event loop. */
  yields: number;
  /** What the budget counted: tuples produced (derived, demand, join rows) and stored facts read. */
  tuplesProduced: number;
  rowsRead: number;
  /** Values of the leading answer variable evaluated one range at a time (`limit` stopping early; 0: evaluated in full). */
  leadingValues: number;
}

export function emptyStats(): EvalStats {
  return { matchCalls: 0, estimateCalls: 0, storedFactsRead: 0, derivedTuples: 0, demandTuples: 0, rounds: 0, instances: 0, yields: 0, tuplesProduced: 0, rowsRead: 0, leadingValues: 0 };
}

/** Limits of one evaluation; absent = unlimited. */
export interface Budget {
  /** Wall time from the start of the evaluation. */
  readonly timeMs?: number;
  /** Tuples produced: derived, demand and join rows. */
  readonly maxTuples?: number;
  /** Stored facts read. */
  readonly maxRows?: number;
}

/** How long an evaluation runs before it lets the event loop serve others. */
export const SLICE_MS = 4;

export class RunContext {
  readonly stats: EvalStats = emptyStats();
  private readonly deadline: number;
  private sliceStart = performance.now();

  constructor(
    readonly signal: AbortSignal | undefined,
    /** Keep the first derivation of every derived tuple (rows with their premises). */
    readonly withProof: boolean,
    readonly budget: Budget = {},
  ) {
    this.deadline = budget.timeMs === undefined ? Number.POSITIVE_INFINITY : this.sliceStart + budget.timeMs;
  }

  /** Counts produced tuples against the budget. */
  produced(count: number): void {
    this.stats.tuplesProduced += count;
    const max = this.budget.maxTuples;
    if (max !== undefined && this.stats.tuplesProduced > max) throw new QueryBudgetExceededError('maxTuples', max);
  }

  /** Counts stored facts read against the budget. */
  read(count: number): void {
    this.stats.rowsRead += count;
    const max = this.budget.maxRows;
    if (max !== undefined && this.stats.rowsRead > max) throw new QueryBudgetExceededError('maxRows', max);
  }

  /** Cancellation and the time budget; yields to the event loop once the slice is used up. */
  async pace(): Promise<void> {
    this.signal?.throwIfAborted();
    const now = performance.now();
    if (now > this.deadline) throw new QueryBudgetExceededError('timeMs', this.budget.timeMs!);
    if (now - this.sliceStart < SLICE_MS) return;
    this.stats.yields += 1;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
    this.signal?.throwIfAborted();
  }
}

/** Throws the signal's reason once the caller aborted (checked between rounds and steps). */
export function checkAbort(context: RunContext): void {
  context.signal?.throwIfAborted();
}
