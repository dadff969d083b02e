/**
 * Set-at-a-time joins. A body, once ordered, becomes a list of steps; each step maps the rows
 * bound so far (slot values, then premises) to the rows of the next step. Working on whole
 * batches lets every asynchronous source (store scans, other instances) be asked once per batch
 * with all the distinct keys, instead of once per row.
 */
import type { Term } from '../domain/fact.js';
import type { CompareOp } from './ast.js';
import { compareTerms } from './compare.js';
import type { RunContext } from './context.js';
import { checkAbort } from './context.js';
import type { ILiteral } from './irule.js';
import type { Arg } from './program.js';
import type { Access, IndexKey, Rec, Table } from './table.js';

export type Row = unknown[];
/** Semi-naive views of a local table: the last round's tuples, those before it, or all. */
export type View = 'delta' | 'old' | 'full';

interface AtomStep {
  readonly kind: 'atom';
  readonly access: Access;
  readonly view: View;
  readonly local: Table | null;
  readonly mask: number;
  readonly boundArgs: readonly Arg[];
  readonly boundPos: readonly number[];
  readonly freePos: readonly number[];
  readonly freeSlots: readonly number[];
  /** Pairs of free positions holding the same new variable: their values must be equal. */
  readonly checks: readonly number[];
  readonly premise: number;
}
interface NotStep {
  readonly kind: 'not';
  readonly access: Access;
  readonly mask: number;
  readonly args: readonly Arg[];
  readonly premise: number;
}
interface CompareStep {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: Arg;
  readonly right: Arg;
}
export type Step = AtomStep | NotStep | CompareStep;

export interface StepSource {
  /** The access for an atom or `not` literal asked with `mask` bound (local literals use their table). */
  access(literal: ILiteral, mask: number): Access;
  view(bodyIndex: number): View;
}

const valueOf = (arg: Arg, row: Row): Term => (arg.kind === 'var' ? (row[arg.slot] as Term) : arg.value);

function atomStep(literal: ILiteral & { kind: 'atom' }, index: number, bound: Set<number>, source: StepSource, premise: number): AtomStep {
  const boundArgs: Arg[] = [];
  const boundPos: number[] = [];
  const freePos: number[] = [];
  const freeSlots: number[] = [];
  const checks: number[] = [];
  let mask = 0;
  literal.atom.args.forEach((arg, position) => {
    if (arg.kind === 'const' || bound.has(arg.slot)) {
      mask |= 1 << position;
      boundArgs.push(arg);
      boundPos.push(position);
      return;
    }
    const earlier = freeSlots.indexOf(arg.slot);
    if (earlier >= 0) checks.push(freePos[earlier]!, position);
    else (freePos.push(position), freeSlots.push(arg.slot));
  });
  freeSlots.forEach((slot) => bound.add(slot));
  const view = literal.source === 'local' ? source.view(index) : 'full';
  const access = source.access(literal, mask);
  return { kind: 'atom', access, view, local: literal.table, mask, boundArgs, boundPos, freePos, freeSlots, checks, premise };
}

/** Steps for `body` taken in `order`; `premiseBase` < 0 means rows carry no premises. */
export function compileSteps(body: readonly ILiteral[], order: readonly number[], source: StepSource, premiseBase: number): Step[] {
  const bound = new Set<number>();
  return order.map((index): Step => {
    const literal = body[index]!;
    const premise = premiseBase < 0 ? -1 : premiseBase + index;
    switch (literal.kind) {
      case 'atom':
        return atomStep(literal, index, bound, source, premise);
      case 'not': {
        const mask = (1 << literal.atom.args.length) - 1;
        return { kind: 'not', access: source.access(literal, mask), mask, args: literal.atom.args, premise };
      }
      case 'compare':
        return { kind: 'compare', op: literal.literal.op, left: literal.literal.left, right: literal.literal.right };
    }
  });
}

/** Where a step's rows go: the next step's batch, or (last step) a sink fed a reused scratch row. */
interface Output {
  push(row: Row): void;
  /** Set for the last step: rows are written into it and must be copied by whoever keeps them. */
  readonly scratch: Row | null;
}

function extend(step: AtomStep, row: Row, rec: Rec, out: Output): void {
  const args = rec.args;
  const checks = step.checks;
  for (let c = 0; c < checks.length; c += 2) if (args[checks[c]!] !== args[checks[c + 1]!]) return;
  let next = out.scratch;
  if (next === null) next = row.slice();
  else for (let i = 0; i < row.length; i++) next[i] = row[i];
  const { freePos, freeSlots } = step;
  for (let j = 0; j < freePos.length; j++) next[freeSlots[j]!] = args[freePos[j]!];
  if (step.premise >= 0) next[step.premise] = rec;
  out.push(next);
}

/** The lookup key of a row, and the bound values when a batch needs them for prefetching. */
function keyOfRow(boundArgs: readonly Arg[], row: Row): [IndexKey, readonly Term[] | null] {
  if (boundArgs.length === 1) return [valueOf(boundArgs[0]!, row), null];
  const values = boundArgs.map((arg) => valueOf(arg, row));
  return [JSON.stringify(values), values];
}

async function lookupKeys(access: Access, mask: number, boundArgs: readonly Arg[], rows: readonly Row[]): Promise<IndexKey[]> {
  const keys = new Array<IndexKey>(rows.length);
  const wanted = access.prepare === undefined ? null : new Map<IndexKey, readonly Term[]>();
  for (let i = 0; i < rows.length; i++) {
    const [key, values] = keyOfRow(boundArgs, rows[i]!);
    keys[i] = key;
    if (wanted !== null && !wanted.has(key)) wanted.set(key, values ?? [key]);
  }
  if (wanted !== null) await access.prepare!(mask, wanted);
  return keys;
}

/** The first literal of a semi-naive variant: scan the delta of a local table. */
function scanDelta(step: AtomStep, rows: readonly Row[], out: Output): void {
  const table = step.local!;
  for (const row of rows) {
    for (let r = table.deltaStart; r < table.recs.length; r++) {
      const rec = table.recs[r]!;
      if (step.boundPos.every((position, i) => rec.args[position] === valueOf(step.boundArgs[i]!, row))) extend(step, row, rec, out);
    }
  }
}

async function runAtom(step: AtomStep, rows: readonly Row[], deltaRound: number, out: Output): Promise<void> {
  if (step.view === 'delta') return scanDelta(step, rows, out);
  const keys = await lookupKeys(step.access, step.mask, step.boundArgs, rows);
  const onlyOld = step.view === 'old';
  for (let i = 0; i < rows.length; i++) {
    const recs = step.access.lookup(step.mask, keys[i]!);
    for (let r = 0; r < recs.length; r++) {
      const rec = recs[r]!;
      if (onlyOld && rec.round >= deltaRound) break; // buckets are in round order
      extend(step, rows[i]!, rec, out);
    }
  }
}

async function runNot(step: NotStep, rows: readonly Row[], out: Output): Promise<void> {
  const keys = await lookupKeys(step.access, step.mask, step.args, rows);
  for (let i = 0; i < rows.length; i++) {
    if (step.access.lookup(step.mask, keys[i]!).length > 0) continue;
    const row = rows[i]!;
    if (step.premise >= 0) row[step.premise] = step.args.map((arg) => valueOf(arg, row));
    out.push(row);
  }
}

async function runStep(step: Step, rows: readonly Row[], deltaRound: number, out: Output): Promise<void> {
  if (step.kind === 'atom') return runAtom(step, rows, deltaRound, out);
  if (step.kind === 'not') return runNot(step, rows, out);
  for (const row of rows) if (compareTerms(step.op, valueOf(step.left, row), valueOf(step.right, row))) out.push(row);
}

/**
 * Runs the steps from one empty row of `width` and feeds every resulting row to `sink` (the row
 * may be reused afterwards: copy it to keep it). `deltaRound` is the round whose tuples are the delta.
 */
export async function runSteps(steps: readonly Step[], width: number, deltaRound: number, context: RunContext, sink: (row: Row) => void): Promise<void> {
  let rows: Row[] = [new Array<unknown>(width)];
  for (let s = 0; s < steps.length - 1 && rows.length > 0; s++) {
    checkAbort(context);
    const next: Row[] = [];
    await runStep(steps[s]!, rows, deltaRound, { push: (row) => next.push(row), scratch: null });
    rows = next;
  }
  checkAbort(context);
  const last = steps[steps.length - 1];
  if (last === undefined) rows.forEach(sink);
  else if (rows.length > 0) await runStep(last, rows, deltaRound, { push: sink, scratch: new Array<unknown>(width) });
}

export function instantiate(args: readonly Arg[], row: Row): Term[] {
  return args.map((arg) => valueOf(arg, row));
}
