/**
 * Runs compiled steps (steps.ts). Rows flow through the steps one at a time (a pipeline, each
 * level writing into its own reused scratch row), except before a step whose source still has
 * to load something asynchronously (a store scan, another instance's fixpoint): there the rows
 * are collected, the source is asked once with all their distinct keys, and the pipeline
 * resumes. So a batch costs one store round trip per step at most, and steady-state rounds
 * allocate nothing but the tuples they derive.
 */
import type { Term } from '../domain/fact.js';
import { compareTerms } from './compare.js';
import type { RunContext } from './context.js';
import type { Arg } from './program.js';
import type { AtomStep, Row, Step } from './steps.js';
import { instantiate, valueOf } from './steps.js';
import type { IndexKey, Rec } from './table.js';
import { EMPTY } from './table.js';

export type { Row } from './steps.js';
type Emit = (row: Row) => void;

function keyOfRow(boundArgs: readonly Arg[], row: Row): IndexKey {
  if (boundArgs.length === 1) return valueOf(boundArgs[0]!, row);
  return JSON.stringify(boundArgs.map((arg) => valueOf(arg, row)));
}

/** True when the step can look anything up right away (nothing left to load). */
function isSync(step: Step): boolean {
  if (step.kind === 'compare') return true;
  return step.access.prepare === undefined || step.access.ready?.() === true;
}

/** Asks the step's source once for all distinct keys of `rows`. */
async function prepare(step: Step, rows: readonly Row[], context: RunContext): Promise<void> {
  if (step.kind === 'compare' || step.access.prepare === undefined) return;
  const args = step.kind === 'atom' ? step.boundArgs : step.args;
  const wanted = new Map<IndexKey, readonly Term[]>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const key = keyOfRow(args, row);
    if (!wanted.has(key)) wanted.set(key, args.length === 1 ? [key] : instantiate(args, row));
    if ((i & 4095) === 4095) await context.pace();
  }
  await step.access.prepare(step.mask, wanted);
}

/** Writes `row` extended by `rec`'s free values into `into`; false if repeated variables disagree. */
function extendInto(step: AtomStep, row: Row, rec: Rec, into: Row): boolean {
  const args = rec.args;
  const checks = step.checks;
  for (let c = 0; c < checks.length; c += 2) if (args[checks[c]!] !== args[checks[c + 1]!]) return false;
  for (let i = 0; i < row.length; i++) into[i] = row[i];
  const { freePos, freeSlots } = step;
  for (let j = 0; j < freePos.length; j++) into[freeSlots[j]!] = args[freePos[j]!];
  if (step.premise >= 0) into[step.premise] = rec;
  return true;
}

function atomStage(step: AtomStep, next: Emit, width: number, deltaRound: number): Emit {
  const scratch = new Array<unknown>(width);
  if (step.view === 'delta') {
    const table = step.local!;
    return (row) => {
      for (let r = table.deltaStart; r < table.recs.length; r++) {
        const rec = table.recs[r]!;
        if (!step.boundPos.every((position, i) => rec.args[position] === valueOf(step.boundArgs[i]!, row))) continue;
        if (extendInto(step, row, rec, scratch)) next(scratch);
      }
    };
  }
  const onlyOld = step.view === 'old';
  const buckets = step.mask === 0 ? null : (step.access.buckets?.(step.mask) ?? null);
  return (row) => {
    const key = keyOfRow(step.boundArgs, row);
    const recs = buckets === null ? step.access.lookup(step.mask, key) : (buckets.get(key) ?? EMPTY);
    for (let r = 0; r < recs.length; r++) {
      const rec = recs[r]!;
      if (onlyOld && rec.round >= deltaRound) break; // buckets are in round order
      if (extendInto(step, row, rec, scratch)) next(scratch);
    }
  };
}

/** One step as a row consumer feeding `next`. */
function stage(step: Step, next: Emit, width: number, deltaRound: number): Emit {
  switch (step.kind) {
    case 'atom':
      return atomStage(step, next, width, deltaRound);
    case 'not':
      return (row) => {
        if (step.access.lookup(step.mask, keyOfRow(step.args, row)).length > 0) return;
        if (step.premise >= 0) row[step.premise] = instantiate(step.args, row);
        next(row);
      };
    case 'compare':
      return (row) => {
        if (compareTerms(step.op, valueOf(step.left, row), valueOf(step.right, row))) next(row);
      };
  }
}

function pipeline(steps: readonly Step[], from: number, to: number, sink: Emit, width: number, deltaRound: number): Emit {
  let emit = sink;
  for (let k = to - 1; k >= from; k--) emit = stage(steps[k]!, emit, width, deltaRound);
  return emit;
}

/** Driver rows between two `pace` calls: a time check every few hundred is cheap. */
const PACE_EVERY = 256;

/**
 * Runs steps[from, to) over `rows` into `sink`. The first step, when it is an atom, is iterated
 * here rather than inside the pipeline: its matches (a whole delta, a whole stored relation) are
 * where the bulk of a join comes from, and here the loop can pace itself between them.
 */
async function drive(steps: readonly Step[], from: number, to: number, rows: readonly Row[], sink: Emit, width: number, deltaRound: number, context: RunContext): Promise<void> {
  const first = steps[from];
  if (first === undefined || first.kind !== 'atom' || from >= to) {
    const emit = pipeline(steps, from, to, sink, width, deltaRound);
    for (let i = 0; i < rows.length; i++) {
      emit(rows[i]!);
      if (i % PACE_EVERY === PACE_EVERY - 1) await context.pace();
    }
    return;
  }
  const next = pipeline(steps, from + 1, to, sink, width, deltaRound);
  const scratch = new Array<unknown>(width);
  let counter = 0;
  for (const row of rows) {
    let recs: readonly Rec[];
    let begin = 0;
    if (first.view === 'delta') {
      recs = first.local!.recs;
      begin = first.local!.deltaStart;
    } else {
      const buckets = first.mask === 0 ? null : (first.access.buckets?.(first.mask) ?? null);
      const key = keyOfRow(first.boundArgs, row);
      recs = buckets === null ? first.access.lookup(first.mask, key) : (buckets.get(key) ?? EMPTY);
    }
    const end = recs.length;
    for (let r = begin; r < end; r++) {
      const rec = recs[r]!;
      if (first.view === 'old' && rec.round >= deltaRound) break; // buckets are in round order
      if (first.view === 'delta' && !first.boundPos.every((position, i) => rec.args[position] === valueOf(first.boundArgs[i]!, row))) continue;
      if (extendInto(first, row, rec, scratch)) next(scratch);
      if (++counter === PACE_EVERY) {
        counter = 0;
        await context.pace();
      }
    }
  }
}

/**
 * Runs the steps from one empty row of `width` and feeds every resulting row to `sink` (rows are
 * reused afterwards: copy one to keep it). `deltaRound` is the round whose tuples are the delta.
 */
export async function runSteps(steps: readonly Step[], width: number, deltaRound: number, context: RunContext, sink: Emit): Promise<void> {
  let rows: Row[] = [new Array<unknown>(width)];
  let start = 0;
  for (let k = 0; k < steps.length; k++) {
    if (isSync(steps[k]!)) continue;
    if (k > start) {
      const collected: Row[] = [];
      await drive(steps, start, k, rows, (row) => collected.push(row.slice()), width, deltaRound, context);
      rows = collected;
    }
    if (rows.length === 0) return;
    await context.pace();
    await prepare(steps[k]!, rows, context);
    start = k;
  }
  await context.pace();
  await drive(steps, start, steps.length, rows, sink, width, deltaRound, context);
}
