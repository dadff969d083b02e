/**
 * evaluateQuery: a conjunctive query joined once, goal-directed. Each atom over a derived
 * relation asks the instance for that relation with the arguments bound at that point of the
 * plan, which in turn asks lower components the same way, so only what the query can reach is
 * read or derived.
 *
 * Answers are distinct by the bindings of their answer variables (a set, however many hidden
 * matches stand behind one) and
 * sorted by them (a total order on terms), so the same data always gives the same order.
 */
import { QueryBudgetExceededError, ValidationError } from '../domain/errors.js';
import type { Term } from '../domain/fact.js';
import type { Query } from './ast.js';
import type { Budget, EvalStats } from './context.js';
import { RunContext } from './context.js';
import { planLiterals, userLiteral } from './instance-plan.js';
import type { ILiteral } from './irule.js';
import { runSteps } from './join.js';
import { compileSteps } from './steps.js';
import { orderLiterals } from './plan.js';
import type { CompiledProgram } from './program.js';
import { compileLiterals } from './program.js';
import type { Proof } from './proof.js';
import { ProofBuilder } from './proof.js';
import type { RowBlock } from './order.js';
import { firstAfter, sortOrder } from './order.js';
import type { LeadingQuery, Segment } from './leading.js';
import { leadingSegments } from './leading.js';
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
  /**
   * The answer variables, in answer order; the query's other variables are existential (the
   * service's `"?"` positions). Answers are distinct on these, so a hidden variable never
   * multiplies them. Default: every variable of the query, in order of appearance.
   */
  readonly variables?: readonly string[];
  /** At most this many answers (the first ones in answer order). */
  readonly limit?: number;
  /**
   * Keyset paging: only answers whose bindings (of `variables`, in order) come strictly after
   * these in answer order. A page that starts after the last answer sent neither repeats nor
   * skips an answer when the facts change between pages.
   */
  readonly after?: readonly Term[];
  readonly signal?: AbortSignal;
  /** Wall time, tuples produced and stored facts read; over it: QUERY_BUDGET_EXCEEDED. */
  readonly budget?: Budget;
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

type AtomLiteral = ILiteral & { kind: 'atom' };

function toMatch(literal: AtomLiteral, rec: Rec, proofs: ProofBuilder | null): Match {
  const { predicate, negated } = literal.atom;
  if (rec.origin === null) {
    return rec.ref === undefined ? { predicate, args: rec.args, negated, derived: false } : { predicate, args: rec.args, negated, derived: false, ref: rec.ref };
  }
  if (proofs === null) return { predicate, args: rec.args, negated, derived: true };
  return { predicate, args: rec.args, negated, derived: true, proof: proofs.proofOf(rec) };
}

function bindingsOf(data: readonly unknown[], at: number, vars: readonly string[]): Record<string, Term> {
  const bindings: Record<string, Term> = {};
  for (let slot = 0; slot < vars.length; slot++) {
    const name = vars[slot]!;
    const value = data[at + slot] as Term;
    // A variable may be called __proto__: define it, never run the prototype setter.
    if (name === '__proto__') Object.defineProperty(bindings, name, { value, enumerable: true, writable: true, configurable: true });
    else bindings[name] = value;
  }
  return bindings;
}

/** The answer for row `index` of the block (variable values, then one premise per literal). */
function toAnswer(rows: RowBlock, index: number, slots: number, vars: readonly string[], atoms: readonly [AtomLiteral, number][], proofs: ProofBuilder | null): Answer {
  const at = index * rows.width;
  // Sized up front: `[]` + push would reserve room for 17 elements in every answer.
  const matches = new Array<Match>(atoms.length);
  for (let i = 0; i < atoms.length; i++) {
    const [literal, bodyIndex] = atoms[i]!;
    matches[i] = toMatch(literal, rows.data[at + slots + bodyIndex] as Rec, proofs);
  }
  return { bindings: bindingsOf(rows.data, at, vars), matches };
}

/** All rows of the query's join. The session (tables, caches) is dropped as soon as it returns. */
async function joinQuery(program: CompiledProgram, source: FactSource, body: readonly ILiteral[], slots: number, context: RunContext): Promise<RowBlock> {
  const session = new Session(program, source, context);
  await session.prefetchEstimates(body.flatMap((literal) => (literal.kind === 'atom' && literal.source === 'stored' ? [literal.atom] : [])));
  const order = orderLiterals(planLiterals(body, session), new Set());
  const steps = compileSteps(body, order, { access: (literal, mask) => session.access(literal, mask), view: () => 'full' }, slots);
  const width = slots + body.length;
  const data: unknown[] = [];
  await runSteps(steps, width, 0, context, (row) => {
    context.produced(1);
    for (let i = 0; i < width; i++) data.push(row[i]);
  });
  return { data, width, count: data.length / width };
}

/** Indices (in answer order) of the first row of each distinct value of the first `slots` slots. */
function distinctRows(rows: RowBlock, order: Int32Array, slots: number, hidden: boolean): Int32Array {
  if (!hidden || order.length < 2) return order;
  const kept: number[] = [order[0]!];
  for (let i = 1; i < order.length; i++) {
    const a = order[i - 1]! * rows.width;
    const b = order[i]! * rows.width;
    let same = true;
    for (let slot = 0; slot < slots && same; slot++) same = rows.data[a + slot] === rows.data[b + slot];
    if (!same) kept.push(order[i]!);
  }
  return Int32Array.from(kept);
}

/**
 * `limit` answers by ranges of leading values (leading.ts), in a session of their own; null when
 * the shape needs a full evaluation, or when the ranges ran out of tuples or rows: then the full
 * evaluation runs with the whole budget, exactly as it would have, so stopping early never turns
 * an answer into QUERY_BUDGET_EXCEEDED (such a query does at most twice its budget's work).
 */
async function stopEarly(
  program: CompiledProgram,
  source: FactSource,
  query: LeadingQuery,
  options: EvaluateOptions,
): Promise<{ segments: Segment[]; stats: EvalStats } | null> {
  const context = new RunContext(options.signal, false, options.budget);
  try {
    const segments = await leadingSegments(new Session(program, source, context), query, context);
    return segments === null ? null : { segments, stats: context.stats };
  } catch (error) {
    if (error instanceof QueryBudgetExceededError && error.details?.limit !== 'timeMs') return null;
    throw error;
  }
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
  if (options.after !== undefined && options.after.length !== (options.variables ?? []).length) {
    throw new ValidationError('after must give one term per answer variable', { field: 'after' });
  }
  const context = new RunContext(options.signal, options.withProof === true, options.budget);
  context.signal?.throwIfAborted();
  // Answer variables take the first slots, so ordering and distinctness look at a prefix of each row.
  const vars: string[] = [...new Set(options.variables ?? [])];
  const visible = vars.length;
  const body = compileLiterals(query.literals, vars).map((literal, i) => userLiteral(program, literal, i, NO_LOCALS));
  const answerSlots = options.variables === undefined ? vars.length : visible;
  const answerVars = vars.slice(0, answerSlots);
  const atoms = body.flatMap((literal, i): [AtomLiteral, number][] => (literal.kind === 'atom' ? [[literal, i]] : []));
  if (options.limit !== undefined && !context.withProof && answerSlots === vars.length) {
    const early = await stopEarly(program, source, { body, slots: vars.length, limit: options.limit, ...(options.after === undefined ? {} : { after: options.after }) }, options);
    if (early !== null) {
      const answers = early.segments.flatMap(({ rows, order }) => Array.from(order, (index) => toAnswer(rows, index, vars.length, answerVars, atoms, null)));
      return { answers, stats: early.stats };
    }
  }
  const rows = await joinQuery(program, source, body, vars.length, context);
  // Rows are distinct over all variables (each is one combination of distinct tuples, fixed by
  // its bindings); over a prefix they may repeat: the first in answer order stands for the rest.
  const sorted = distinctRows(rows, await sortOrder(rows, answerSlots, context), answerSlots, answerSlots < vars.length);
  const order = options.after === undefined ? sorted : sorted.subarray(firstAfter(rows, sorted, answerSlots, options.after));
  const proofs = context.withProof ? new ProofBuilder() : null;
  const answer = (index: number): Answer => toAnswer(rows, index, vars.length, answerVars, atoms, proofs);
  const count = options.limit === undefined ? order.length : Math.min(options.limit, order.length);
  if (count < rows.count) return { answers: Array.from(order.subarray(0, count), answer), stats: context.stats };
  // Built in row order (rows sit in memory in that order, so this stays cache friendly), then permuted.
  const built = Array.from({ length: rows.count }, (_, i) => answer(i));
  return { answers: Array.from(order, (i) => built[i]!), stats: context.stats };
}

/** Answers of a conjunctive query under the program's rules, over the facts of `source`. */
export async function evaluateQuery(program: CompiledProgram, source: FactSource, query: Query, options: EvaluateOptions = {}): Promise<Answer[]> {
  return (await evaluateQueryWithStats(program, source, query, options)).answers;
}
