/**
 * Join steps: an ordered body compiled for execution (join.ts). Each atom step knows, from the
 * order, which positions are bound when it runs (its lookup mask and key) and which variables it
 * binds; rows hold variable values by slot, then one premise per body literal when tracked.
 */
import type { Term } from '../domain/fact.js';
import type { CompareOp } from './ast.js';
import type { ILiteral } from './irule.js';
import type { Arg } from './program.js';
import type { Access, Table } from './table.js';

export type Row = unknown[];
/** Semi-naive views of a local table: the last round's tuples, those before it, or all. */
export type View = 'delta' | 'old' | 'full';

export interface AtomStep {
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
export interface NotStep {
  readonly kind: 'not';
  readonly access: Access;
  readonly mask: number;
  readonly args: readonly Arg[];
  readonly premise: number;
}
export interface CompareStep {
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

export const valueOf = (arg: Arg, row: Row): Term => (arg.kind === 'var' ? (row[arg.slot] as Term) : arg.value);

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

export function instantiate(args: readonly Arg[], row: Row): Term[] {
  return args.map((arg) => valueOf(arg, row));
}
