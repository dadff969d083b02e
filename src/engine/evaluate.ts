/**
 * evaluateQuery: a conjunctive query joined once, goal-directed. Each atom over a derived
 * relation asks the instance for that relation with the arguments bound at that point of the
 * plan, which in turn asks lower components the same way, so only what the query can reach is
 * read or derived.
 *
 * Answers are distinct by their bindings (every matched tuple is fully determined by them) and
 * sorted by the canonical text of the bindings, so the same data always gives the same order.
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

function toAnswer(row: Row, vars: readonly string[], body: readonly ILiteral[], proofs: ProofBuilder | null): Answer {
  const bindings = Object.fromEntries(vars.map((name, slot) => [name, row[slot] as Term]));
  const matches: Match[] = [];
  body.forEach((literal, i) => {
    if (literal.kind === 'atom') matches.push(toMatch(literal, row[vars.length + i] as Rec, proofs));
  });
  return { bindings, matches };
}

/** Distinct rows by bindings, sorted by their canonical text; only the first `limit` are kept. */
function distinctSorted(rows: readonly Row[], slots: number, limit: number | undefined): Row[] {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = JSON.stringify(row.slice(0, slots));
    if (!byKey.has(key)) byKey.set(key, row);
  }
  const keys = [...byKey.keys()].sort();
  return keys.slice(0, limit ?? keys.length).map((key) => byKey.get(key)!);
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
  const rows = await runSteps(steps, vars.length + body.length, 0, context);
  const proofs = context.withProof ? new ProofBuilder() : null;
  const answers = distinctSorted(rows, vars.length, options.limit).map((row) => toAnswer(row, vars, body, proofs));
  return { answers, stats: context.stats };
}

/** Answers of a conjunctive query under the program's rules, over the facts of `source`. */
export async function evaluateQuery(program: CompiledProgram, source: FactSource, query: Query, options: EvaluateOptions = {}): Promise<Answer[]> {
  return (await evaluateQueryWithStats(program, source, query, options)).answers;
}
