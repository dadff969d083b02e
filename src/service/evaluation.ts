import { type BudgetLimit, QueryBudgetExceededError } from '../domain/errors.js';
import type { FactPattern, Term } from '../domain/fact.js';
import {
  type Answer as EngineAnswer,
  type Budget,
  type BodyLiteral,
  type CompiledProgram,
  type FactSource,
  compareBindings,
  compileProgram,
  evaluateQueryWithStats,
} from '../engine/index.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import type { SharedScopeReads } from './scope-reads.js';

const EMPTY_PROGRAM = compileProgram([]);

export interface EngineQuery {
  readonly literals: BodyLiteral[];
  readonly variables: readonly string[];
  readonly withProof: boolean;
  readonly limit: number;
  /** Keyset paging: answers after these bindings only (see EvaluateOptions.after). */
  readonly after?: readonly Term[];
}

export interface ScopedAnswer {
  readonly answer: EngineAnswer;
  readonly scopes: string[];
}

/**
 * One request's budget, spent by every evaluation the request runs (an all-scope ask runs one
 * per scope): each evaluation gets what is left.
 */
export class RequestBudget {
  private readonly started = performance.now();
  private tuples = 0;
  private rows = 0;

  constructor(private readonly limits: Budget) {}

  remaining(): Budget {
    const { timeMs, maxTuples, maxRows } = this.limits;
    return {
      ...(timeMs === undefined ? {} : { timeMs: Math.max(0, timeMs - (performance.now() - this.started)) }),
      ...(maxTuples === undefined ? {} : { maxTuples: Math.max(0, maxTuples - this.tuples) }),
      ...(maxRows === undefined ? {} : { maxRows: Math.max(0, maxRows - this.rows) }),
    };
  }

  spend(stats: { tuplesProduced: number; rowsRead: number }): void {
    this.tuples += stats.tuplesProduced;
    this.rows += stats.rowsRead;
  }

  /** What the request spent so far: wall time since it started, stored facts read. */
  used(): { elapsedMs: number; rowsRead: number } {
    return { elapsedMs: performance.now() - this.started, rowsRead: this.rows };
  }

  /** Stored facts read outside the engine (shared all-scope reads); throws past the limit. */
  chargeRows(rows: number): void {
    this.rows += rows;
    const max = this.limits.maxRows;
    if (max !== undefined && this.rows > max) throw new QueryBudgetExceededError('maxRows', max);
  }

  /** An evaluation ran out of what was left: the request's limit is the one to report. */
  exceeded(error: QueryBudgetExceededError): QueryBudgetExceededError {
    const limit = error.details?.limit as BudgetLimit;
    return new QueryBudgetExceededError(limit, this.limits[limit] ?? 0);
  }
}

/** The engine evaluations of one ask, within one scope or in each scope. */
export class Evaluation {
  constructor(
    private readonly query: EngineQuery,
    private readonly budget: RequestBudget,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private async evaluate(program: CompiledProgram | null, source: FactSource): Promise<EngineAnswer[]> {
    const { literals, variables, withProof, limit, after } = this.query;
    const options = { variables, withProof, limit, ...(after === undefined ? {} : { after }), budget: this.budget.remaining(), ...(this.signal === undefined ? {} : { signal: this.signal }) };
    try {
      const result = await evaluateQueryWithStats(program ?? EMPTY_PROGRAM, source, { literals }, options);
      this.budget.spend(result.stats);
      return result.answers;
    } catch (error) {
      throw error instanceof QueryBudgetExceededError ? this.budget.exceeded(error) : error;
    }
  }

  async inScope(program: CompiledProgram | null, source: FactSource, scope: string): Promise<ScopedAnswer[]> {
    return (await this.evaluate(program, source)).map((answer) => ({ answer, scopes: [scope] }));
  }

  /**
   * An ask over all scopes: the union of each scope's answers (a derivation never combines facts
   * of two scopes), each answer with the scopes it holds in, in answer order. A scope whose
   * program and reads equal an evaluated scope's gets that scope's answers without evaluating.
   * Each scope's first `limit` answers are enough: an answer among the union's first `limit` is
   * among the first `limit` of every scope it holds in.
   */
  async eachScope(reads: SharedScopeReads, scopes: readonly ScopeRecord[], programOf: (scope: string) => Promise<CompiledProgram | null>): Promise<ScopedAnswer[]> {
    const { variables, limit } = this.query;
    const done: { scope: string; program: CompiledProgram | null; read: Map<string, FactPattern>; answers: EngineAnswer[] }[] = [];
    const union = new Map<string, ScopedAnswer>();
    for (const { name } of scopes) {
      const program = await programOf(name);
      let answers: EngineAnswer[] | null = null;
      for (const other of done) {
        if (other.program === program && (await reads.sameReads(name, other.scope, other.read))) {
          answers = other.answers;
          break;
        }
      }
      if (answers === null) {
        const read = new Map<string, FactPattern>();
        answers = await this.evaluate(program, reads.sourceFor(name, read));
        done.push({ scope: name, program, read, answers });
      }
      for (const answer of answers) {
        const key = JSON.stringify(variables.map((variable) => answer.bindings[variable]));
        const known = union.get(key);
        if (known === undefined) union.set(key, { answer, scopes: [name] });
        else known.scopes.push(name);
      }
    }
    const ordered = [...union.values()].sort((a, b) => compareBindings(a.answer.bindings, b.answer.bindings, variables));
    return ordered.slice(0, limit);
  }
}
