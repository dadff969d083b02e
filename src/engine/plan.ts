/**
 * Join ordering. Greedy: repeatedly take the cheapest positive atom, preferring atoms connected to
 * what is already bound (a cartesian product is never cheaper in practice), and place each filter
 * (`not`, comparison) as soon as all its variables are bound, so it prunes rows early.
 *
 * Costs come from FactSource.estimate for stored relations (with the atom's constants) and from a
 * fixed guess for derived ones; each bound variable position divides the cost.
 */
import type { Arg } from './program.js';

export interface PlanLiteral {
  readonly kind: 'atom' | 'filter';
  /** Atom: one entry per position; filter: its two sides. */
  readonly args: readonly Arg[];
  /** Estimated number of tuples with only the constants bound (atoms only). */
  readonly base: number;
}

/** Guess for relations whose size is unknown before evaluation. */
export const DERIVED_SIZE_GUESS = 1000;
/** How much one bound position is assumed to narrow an atom. */
const SELECTIVITY = 0.05;

interface Score {
  readonly connected: boolean;
  readonly cost: number;
}

export function atomScore(literal: PlanLiteral, bound: ReadonlySet<number>): Score {
  let vars = 0;
  let boundVars = 0;
  for (const arg of literal.args) {
    if (arg.kind !== 'var') continue;
    vars += 1;
    if (bound.has(arg.slot)) boundVars += 1;
  }
  if (boundVars === vars) return { connected: true, cost: 0 };
  return { connected: boundVars > 0, cost: literal.base * SELECTIVITY ** boundVars };
}

function better(a: Score, b: Score): boolean {
  if (a.connected !== b.connected) return a.connected;
  return a.cost < b.cost;
}

function allBound(literal: PlanLiteral, bound: ReadonlySet<number>): boolean {
  return literal.args.every((arg) => arg.kind !== 'var' || bound.has(arg.slot));
}

function bindAll(literal: PlanLiteral, bound: Set<number>): void {
  for (const arg of literal.args) if (arg.kind === 'var') bound.add(arg.slot);
}

/**
 * An evaluation order of `literals` (indices). `first`, when given, is forced to the front (the
 * delta literal of a semi-naive variant). Filters whose variables never get bound go last.
 */
export function orderLiterals(literals: readonly PlanLiteral[], initiallyBound: ReadonlySet<number>, first = -1): number[] {
  const bound = new Set(initiallyBound);
  const order: number[] = [];
  const placed = new Set<number>();
  const place = (index: number): void => {
    order.push(index);
    placed.add(index);
    bindAll(literals[index]!, bound);
  };
  if (first >= 0) place(first);
  for (;;) {
    literals.forEach((literal, i) => {
      if (!placed.has(i) && literal.kind === 'filter' && allBound(literal, bound)) place(i);
    });
    let best = -1;
    let bestScore: Score | null = null;
    literals.forEach((literal, i) => {
      if (placed.has(i) || literal.kind !== 'atom') return;
      const score = atomScore(literal, bound);
      if (bestScore === null || better(score, bestScore)) [best, bestScore] = [i, score];
    });
    if (best < 0) break;
    place(best);
  }
  literals.forEach((_, i) => placed.has(i) || place(i));
  return order;
}
