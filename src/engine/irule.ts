/**
 * Instance rules: what one evaluation instance actually runs after goal-directed rewriting
 * (magic.ts). Each keeps a link to the user's rule it came from so that proofs can be told in
 * terms of the user's program, never of the rewriting.
 */
import type { CAtom, CCompare, CompiledRule, Arg } from './program.js';
import type { Table } from './table.js';

/**
 * - `rule`: a user rule deriving into an answer table.
 * - `stored`: brings the stored facts of a derived relation into its answer table.
 * - `demand`: a magic rule: which bound arguments a body literal will be asked with.
 * - `goal`: linear mode: from a goal, the subgoal its tail call asks (a user rule minus its tail).
 * - `linear-exit`: linear mode: a non-recursive user rule answering a goal, credited to its root.
 * - `linear-stored`: linear mode: stored facts answering a goal, credited to its root.
 */
export type IRuleKind = 'rule' | 'stored' | 'demand' | 'goal' | 'linear-exit' | 'linear-stored';

/** Where an atom's tuples come from: this instance's tables, the store, or another instance. */
export type AtomSource = 'local' | 'stored' | 'derived';

export type ILiteral =
  | { readonly kind: 'atom'; readonly source: AtomSource; readonly table: Table | null; readonly atom: CAtom; readonly origin: number }
  | { readonly kind: 'not'; readonly source: 'stored' | 'derived'; readonly atom: CAtom; readonly origin: number }
  | { readonly kind: 'compare'; readonly literal: CCompare; readonly origin: number };

/** Linear-mode bookkeeping: where the root values live, and which user literal was the tail call. */
export interface LinearInfo {
  readonly rootSlots: readonly number[];
  readonly boundPositions: readonly number[];
  /** Index of the tail literal in the user rule's body (goal rules), else -1. */
  readonly tail: number;
}

export interface IRule {
  readonly kind: IRuleKind;
  /** The user's rule, for proofs (null for `stored`, `linear-stored`). */
  readonly source: CompiledRule | null;
  /** Variable slots of a row; premise slots follow, one per body literal, when `tracked`. */
  readonly slots: number;
  readonly head: { readonly table: Table; readonly args: readonly Arg[] };
  readonly body: readonly ILiteral[];
  readonly tracked: boolean;
  readonly linear: LinearInfo | null;
}

export function literalSlots(literal: ILiteral): number[] {
  const args = literal.kind === 'compare' ? [literal.literal.left, literal.literal.right] : literal.atom.args;
  const slots: number[] = [];
  for (const arg of args) if (arg.kind === 'var') slots.push(arg.slot);
  return slots;
}
