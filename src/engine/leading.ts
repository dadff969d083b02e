/**
 * `limit` stopping early without changing any answer, page or cursor.
 *
 * Answers come sorted by their variables, the leading one first; a full evaluation computes
 * them all and sorts. The answers whose leading variable holds the value c are exactly the
 * answers of the query with c in its place, so they can be computed range by range of leading
 * values, in term order: the answers of one range all come before those of the next, and once
 * `limit` answers are in, no later range can change them. This holds with `not` and recursion
 * alike (a range's answers are complete when its evaluation ends, and nothing later removes
 * them), so it is the order, not the fixpoint, that decides where evaluation can stop.
 *
 * The leading values tried are a superset of those that occur, read from the store: the values
 * at the variable's position in a stored atom of the query, or, when it occurs in derived atoms
 * only, the values that can reach that position of the relation through its rules (from the
 * stored atoms its rule bodies bind it from, and the head's constants). Ranges start at one
 * value and double, evaluated in one session, so stored relations are read once and derived
 * instances (goal-directed for the values asked) continue where the last range stopped.
 *
 * Shapes that stop early: a query with a visible answer variable, no hidden (`"?"`) variables,
 * no proofs, more leading values than the limit, in which binding the leading variable leaves
 * every derived atom either computed in full, as the plain plan would, or asked with the same
 * bound positions as in the plain plan. The others evaluate in full: hidden variables and
 * proofs, because which of several equal matches or derivations is shown depends on the plan; a
 * first range of every value is the whole evaluation, only dearer; and a derived atom the plain
 * plan already asks goal-directed (a constant, an earlier literal) would be asked once per
 * leading value, which can cost far more than asking it once.
 */
import type { Term } from '../domain/fact.js';
import { orderTerms } from './compare.js';
import type { RunContext } from './context.js';
import { planLiterals, storedLiteral } from './instance-plan.js';
import type { ILiteral } from './irule.js';
import { runSteps } from './join.js';
import type { RowBlock } from './order.js';
import { firstAfter, sortOrder } from './order.js';
import { orderLiterals } from './plan.js';
import type { CAtom, CompiledProgram } from './program.js';
import type { Session } from './session.js';
import { compileSteps } from './steps.js';
import { Table } from './table.js';

/** Rows of one range of leading values, and which of them are answers, in answer order. */
export interface Segment {
  readonly rows: RowBlock;
  readonly order: Int32Array;
}

/** Where leading values are read: `position` of the stored facts matching `atom`. */
interface ValueSource {
  readonly atom: CAtom;
  readonly position: number;
}

const LEADING = 0;

/**
 * Pages hold far fewer answers; a larger limit (an aggregate's "every answer") wants the whole
 * answer set, and reading the leading values first would only add reads.
 */
const MAX_RANGED_LIMIT = 100_000;

function hasLeading(atom: CAtom): boolean {
  return atom.args.some((arg) => arg.kind === 'var' && arg.slot === LEADING);
}

/** The mask each positive derived atom is asked with when the body runs in `order`. */
function derivedMasks(body: readonly ILiteral[], order: readonly number[]): Map<number, number> {
  const bound = new Set<number>();
  const masks = new Map<number, number>();
  for (const index of order) {
    const literal = body[index]!;
    if (literal.kind !== 'atom') continue;
    let mask = 0;
    literal.atom.args.forEach((arg, position) => {
      if (arg.kind === 'const' || bound.has(arg.slot)) mask |= 1 << position;
    });
    if (literal.source === 'derived') masks.set(index, mask);
    for (const arg of literal.atom.args) if (arg.kind === 'var') bound.add(arg.slot);
  }
  return masks;
}

/**
 * Stored patterns whose values at a position include every value of `rel` at `position`: the
 * relation's own stored facts, and for each rule the atom its head variable there is bound from
 * (a stored atom when there is one, else the values of the derived atom, followed the same way).
 */
function domainOf(program: CompiledProgram, rel: string, position: number): { sources: ValueSource[]; constants: Term[] } | null {
  const sources: ValueSource[] = [];
  const constants: Term[] = [];
  const seen = new Set<string>();
  const pending: [string, number][] = [[rel, position]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, at] = next;
    const key = `${current}#${at}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const own = storedLiteral(program, current);
    if (own.kind === 'atom') sources.push({ atom: own.atom, position: at });
    for (const rule of program.rulesByHead.get(current) ?? []) {
      const arg = rule.head.args[at]!;
      if (arg.kind === 'const') {
        constants.push(arg.value);
        continue;
      }
      const binders = rule.body.flatMap((literal) => (literal.kind === 'atom' && literal.args.some((a) => a.kind === 'var' && a.slot === arg.slot) ? [literal] : []));
      const stored = binders.find((atom) => atom.negated || !program.rulesByHead.has(atom.rel));
      const binder = stored ?? binders[0];
      if (binder === undefined) return null;
      const where = binder.args.findIndex((a) => a.kind === 'var' && a.slot === arg.slot);
      if (stored !== undefined) sources.push({ atom: stored, position: where });
      else pending.push([binder.rel, where]);
    }
  }
  return { sources, constants };
}

/** The leading values to try, sorted and distinct (a superset of those in answers); null when unknown, or surely no more than `limit`. */
async function leadingValues(session: Session, body: readonly ILiteral[], limit: number): Promise<Term[] | null> {
  const atoms = body.flatMap((literal) => (literal.kind === 'atom' && hasLeading(literal.atom) ? [literal] : []));
  const at = (atom: CAtom) => atom.args.findIndex((arg) => arg.kind === 'var' && arg.slot === LEADING);
  let sources: ValueSource[];
  const values = new Set<Term>();
  const stored = atoms.filter((literal) => literal.source === 'stored');
  if (stored.length > 0) {
    // The smallest stored atom of the query: every answer's leading value is among its values.
    const sizes = await Promise.all(stored.map((literal) => session.stored(literal.atom).estimate()));
    const smallest = stored[sizes.indexOf(Math.min(...sizes))]!;
    sources = [{ atom: smallest.atom, position: at(smallest.atom) }];
  } else {
    const derived = atoms.find((literal) => literal.source === 'derived');
    if (derived === undefined) return null;
    const domain = domainOf(session.program, derived.atom.rel, at(derived.atom));
    if (domain === null) return null;
    sources = domain.sources;
    for (const value of domain.constants) values.add(value);
  }
  // No more facts than the page holds: no more values either, so the full evaluation it would come to
  // needs no read of them first (estimates count index entries, at least the facts they stand for).
  const sizes = await Promise.all(sources.map(({ atom }) => session.stored(atom).estimate()));
  if (values.size + sizes.reduce((sum, size) => sum + size, 0) <= limit) return null;
  for (const { atom, position } of sources) {
    const recs = await session.stored(atom).readAll();
    for (let i = 0; i < recs.length; i++) values.add(recs[i]!.args[position]!);
  }
  return [...values].sort(orderTerms);
}

export interface LeadingQuery {
  readonly body: readonly ILiteral[];
  /** Answer variables: slots 0 … slots-1, all of the query's variables. */
  readonly slots: number;
  readonly limit: number;
  readonly after?: readonly Term[];
}

/**
 * The first `limit` answers (after `after`) as segments in answer order, computed range by range
 * of leading values; null when the shape must be evaluated in full (the caller then does).
 */
export async function leadingSegments(session: Session, query: LeadingQuery, context: RunContext): Promise<Segment[] | null> {
  const { body, slots, limit, after } = query;
  if (slots === 0 || limit > MAX_RANGED_LIMIT || !body.some((literal) => literal.kind === 'atom' && hasLeading(literal.atom))) return null;
  await session.prefetchEstimates(body.flatMap((literal) => (literal.kind === 'atom' && literal.source === 'stored' ? [literal.atom] : [])));
  // The range literal goes first; the rest is planned knowing the leading variable is bound.
  const range = (table: Table): ILiteral => ({
    kind: 'atom',
    source: 'local',
    table,
    atom: { kind: 'atom', predicate: table.name, negated: false, rel: `${table.name}/1`, args: [{ kind: 'var', slot: LEADING }] },
    origin: -1,
  });
  const probe = [...body, range(new Table('leading', 1))];
  const order = orderLiterals(planLiterals(probe, session), new Set(), body.length);
  // The plain plan is the full evaluation's (evaluate.ts joinQuery).
  const plain = derivedMasks(body, orderLiterals(planLiterals(body, session), new Set()));
  const ranged = derivedMasks(probe, order);
  for (const [index, mask] of plain) if (mask !== 0 && ranged.get(index) !== mask) return null;

  let values = await leadingValues(session, body, limit);
  if (values === null) return null;
  if (after !== undefined) values = values.filter((value) => orderTerms(value, after[0]!) >= 0);
  // A first range holding every value would be the whole evaluation, goal-directed: dearer than in full.
  if (values.length <= limit) return null;
  const width = slots + probe.length;
  const segments: Segment[] = [];
  let found = 0;
  // One value first (a value may hold many answers: a root of a closure), doubling while answers are missing.
  let size = 1;
  for (let from = 0; from < values.length && found < limit; from += size, size *= 2) {
    const table = new Table('leading', 1);
    const chunk = values.slice(from, from + size);
    for (const value of chunk) table.add([value], null);
    await table.commit(1, context);
    context.stats.leadingValues += chunk.length;
    const extended = [...body, range(table)];
    const steps = compileSteps(extended, order, { access: (literal, mask) => session.access(literal, mask), view: () => 'full' }, slots);
    const data: unknown[] = [];
    await runSteps(steps, width, 0, context, (row) => {
      context.produced(1);
      for (let i = 0; i < width; i++) data.push(row[i]);
    });
    const rows: RowBlock = { data, width, count: data.length / width };
    let sorted = await sortOrder(rows, slots, context);
    if (after !== undefined) sorted = sorted.subarray(firstAfter(rows, sorted, slots, after));
    const taken = sorted.subarray(0, limit - found);
    found += taken.length;
    segments.push({ rows, order: taken });
  }
  return segments;
}
