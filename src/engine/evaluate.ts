/**
 * evaluateQuery: a conjunctive query joined once, goal-directed. Each atom over a derived
 * relation asks the instance for that relation with the arguments bound at that point of the
 * plan, which in turn asks lower components the same way, so only what the query can reach is
 * read or derived.
 *
 * Answers are distinct by their bindings (every matched tuple is fully determined by them) and
 * sorted by them (a total order on terms), so the same data always gives the same order.
 */
import { ValidationError } from '../domain/errors.js';
import type { Term } from '../domain/fact.js';
import type { Query } from './ast.js';
import type { EvalStats } from './context.js';
import { emptyStats } from './context.js';
import { planLiterals, userLiteral } from './instance-plan.js';
import type { ILiteral } from './irule.js';
import type { Row } from './join.js';
import { compileSteps, runSteps } from './join.js';
import { orderLiterals } from './plan.js';
import type { CompiledProgram } from './program.js';
import { compileLiterals } from './program.js';
import type { Proof } from './proof.js';
import { ProofBuilder } from './proof.js';
import { orderTerms } from './compare.js';
import { Session } from './session.js';
import type { FactSource } from './source.js';
import type { Rec, Table } from './table.js';
import { validateQuery } from './validate.js';

export interface Match {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  /** True when the tuple is not stored but derived by rules. */
  readonly derived: boolean;
  /** SourceFact.ref of the stored fact. */
  readonly ref?: unknown;
  /** How it was derived (with `withProof`). */
  readonly proof?: Proof;
}

export interface Answer {
  readonly bindings: Readonly<Record<string, Term>>;
  /** One per atom of the query (positive or classically negated), in query order. */
  readonly matches: readonly Match[];
}

export interface EvaluateOptions {
  readonly withProof?: boolean;
  /** At most this many answers (the first ones in answer order). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface QueryResult {
  readonly answers: Answer[];
  readonly stats: EvalStats;
}

const NO_LOCALS: ReadonlyMap<string, Table> = new Map();

function checkLimit(limit: number | undefined): void {
  if (limit === undefined || (Number.isSafeInteger(limit) && limit >= 1)) return;
  throw new ValidationError('limit must be a positive integer', { field: 'limit', value: limit });
}

function toMatch(literal: ILiteral & { kind: 'atom' }, rec: Rec, proofs: ProofBuilder | null): Match {
  const { predicate, negated } = literal.atom;
  if (rec.origin === null) {
    return rec.ref === undefined ? { predicate, args: rec.args, negated, derived: false } : { predicate, args: rec.args, negated, derived: false, ref: rec.ref };
  }
  if (proofs === null) return { predicate, args: rec.args, negated, derived: true };
  return { predicate, args: rec.args, negated, derived: true, proof: proofs.proofOf(rec) };
}

function bindingsOf(row: Row, vars: readonly string[]): Record<string, Term> {
  const bindings: Record<string, Term> = {};
  for (let slot = 0; slot < vars.length; slot++) {
    const name = vars[slot]!;
    const value = row[slot] as Term;
    // A variable may be called __proto__: define it, never run the prototype setter.
    if (name === '__proto__') Object.defineProperty(bindings, name, { value, enumerable: true, writable: true, configurable: true });
    else bindings[name] = value;
  }
  return bindings;
}

function toAnswer(row: Row, vars: readonly string[], body: readonly ILiteral[], proofs: ProofBuilder | null): Answer {
  const matches: Match[] = [];
  body.forEach((literal, i) => {
    if (literal.kind === 'atom') matches.push(toMatch(literal, row[vars.length + i] as Rec, proofs));
  });
  return { bindings: bindingsOf(row, vars), matches };
}

/**
 * Sorts rows by their bindings (term order, variables in order of appearance). Rows are already
 * distinct: each is one combination of distinct tuples, and the tuples are fixed by the bindings.
 */
function sortRows(rows: Row[], slots: number): Row[] {
  return rows.sort((a, b) => {
    for (let slot = 0; slot < slots; slot++) {
      const order = orderTerms(a[slot] as Term, b[slot] as Term);
      if (order !== 0) return order;
    }
    return 0;
  });
}

/** Like evaluateQuery, with the counters of the work done (store scans, derived tuples, rounds). */
export async function evaluateQueryWithStats(
  program: CompiledProgram,
  source: FactSource,
  query: Query,
  options: EvaluateOptions = {},
): Promise<QueryResult> {
  validateQuery(query);
  checkLimit(options.limit);
  const context = { stats: emptyStats(), signal: options.signal, withProof: options.withProof === true };
  context.signal?.throwIfAborted();
  const session = new Session(program, source, context);
  const vars: string[] = [];
  const body = compileLiterals(query.literals, vars).map((literal, i) => userLiteral(program, literal, i, NO_LOCALS));
  await session.prefetchEstimates(body.flatMap((literal) => (literal.kind === 'atom' && literal.source === 'stored' ? [literal.atom] : [])));
  const order = orderLiterals(planLiterals(body, session), new Set());
  const steps = compileSteps(body, order, { access: (literal, mask) => session.access(literal, mask), view: () => 'full' }, vars.length);
  const rows: Row[] = [];
  await runSteps(steps, vars.length + body.length, 0, context, (row) => rows.push(row.slice()));
  const proofs = context.withProof ? new ProofBuilder() : null;
  const kept = sortRows(rows, vars.length).slice(0, options.limit ?? rows.length);
  const answers = kept.map((row) => toAnswer(row, vars, body, proofs));
  return { answers, stats: context.stats };
}

/** Answers of a conjunctive query under the program's rules, over the facts of `source`. */
export async function evaluateQuery(program: CompiledProgram, source: FactSource, query: Query, options: EvaluateOptions = {}): Promise<Answer[]> {
  return (await evaluateQueryWithStats(program, source, query, options)).answers;
}
