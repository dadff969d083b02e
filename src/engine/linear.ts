/**
 * Right-linear recursion, asked with some arguments bound. In
 *   reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).
 * asked as reach(s, ?z), the recursive call passes its free argument ?z straight up, so every
 * answer of a subgoal reach(c, ?z) is an answer of the root reach(s, ?z). Plain magic sets would
 * compute reach(c, ?z) for every c reachable from s — the closure of that region, quadratic —
 * whereas here we keep goal(s, c) ("c is a subgoal of root s") and credit the non-recursive
 * answers of each c directly to s:
 *   goal(r, r)                      for each asked root r
 *   goal(r, y)   :- goal(r, x), edge(x, y)        (the tail rule minus its tail call)
 *   reach(r, z)  :- goal(r, x), edge(x, z)        (each exit rule, and the stored facts)
 * which is linear in what the root reaches. Proofs are rebuilt from the goal chain (proof.ts).
 *
 * Applies when the component is the relation alone and each rule is either non-recursive or has
 * exactly one recursive literal whose free positions carry the head's free variables, each at
 * one position only and used nowhere else.
 */
import type { IRule } from './irule.js';
import type { BuildContext, InstancePlan } from './instance-plan.js';
import { argsAt, localAtom, maskText, relationOf, storedLiteral, userLiteral, varArgs } from './instance-plan.js';
import type { Arg, CAtom, CLiteral, CompiledProgram, CompiledRule } from './program.js';
import type { Component } from './stratify.js';
import { Table, maskPositions } from './table.js';

const NO_LOCALS: ReadonlyMap<string, Table> = new Map();

function literalSlots(literal: CLiteral): number[] {
  const args = literal.kind === 'compare' ? [literal.left, literal.right] : literal.kind === 'not' ? literal.atom.args : literal.args;
  return args.flatMap((arg) => (arg.kind === 'var' ? [arg.slot] : []));
}

/** Index of the tail call in `rule`'s body, -1 if the rule does not recurse, null if not right-linear. */
export function tailOf(rule: CompiledRule, rel: string, mask: number): number | null {
  const own = rule.body.flatMap((literal, i) => (literal.kind === 'atom' && !literal.negated && literal.rel === rel ? [i] : []));
  if (own.length === 0) return -1;
  if (own.length > 1) return null;
  const tail = own[0]!;
  const tailAtom = rule.body[tail] as CAtom;
  const elsewhere = new Set(argsAt(rule.head.args, mask).flatMap((arg) => (arg.kind === 'var' ? [arg.slot] : [])));
  const bound = new Set(elsewhere);
  rule.body.forEach((literal, i) => {
    if (i === tail) return;
    for (const slot of literalSlots(literal)) {
      elsewhere.add(slot);
      if (literal.kind === 'atom') bound.add(slot);
    }
  });
  // A free variable may occur once among the free positions: `p(?x,?z,?z) :- …, p(?y,?z,?z)`
  // passes up only answers of the subgoal whose two positions are equal, an equality that
  // crediting every subgoal answer to the root would drop.
  const passed = new Set<number>();
  for (let position = 0; position < tailAtom.args.length; position++) {
    const arg = tailAtom.args[position]!;
    const head = rule.head.args[position]!;
    if ((mask >> position) & 1) {
      if (arg.kind === 'var' && !bound.has(arg.slot)) return null;
    } else if (arg.kind !== 'var' || head.kind !== 'var' || arg.slot !== head.slot || elsewhere.has(arg.slot) || passed.has(arg.slot)) {
      return null;
    } else {
      passed.add(arg.slot);
    }
  }
  return tail;
}

/** The tail index of every recursive rule, or null when linear mode does not apply. */
export function linearTails(program: CompiledProgram, component: Component, rel: string, mask: number): Map<CompiledRule, number> | null {
  if (component.relations.length !== 1 || !component.recursive || mask === 0) return null;
  const tails = new Map<CompiledRule, number>();
  for (const rule of program.rulesByHead.get(rel) ?? []) {
    const tail = tailOf(rule, rel, mask);
    if (tail === null) return null;
    if (tail >= 0) tails.set(rule, tail);
  }
  return tails.size > 0 ? tails : null;
}

/** Answer arguments: the root's values at bound positions, the rule's own terms elsewhere. */
function rootedHead(args: readonly Arg[], positions: readonly number[], roots: readonly Arg[]): Arg[] {
  return args.map((arg, position) => {
    const i = positions.indexOf(position);
    return i >= 0 ? roots[i]! : arg;
  });
}

function userRuleOf(rule: CompiledRule, tail: number, tables: { goals: Table; answers: Table }, mask: number, context: BuildContext): IRule {
  const positions = maskPositions(mask);
  const roots = varArgs(rule.vars.length, positions.length);
  const linear = { rootSlots: roots.map((_, i) => rule.vars.length + i), boundPositions: positions, tail };
  const goal = localAtom(tables.goals, [...roots, ...argsAt(rule.head.args, mask)]);
  const literals = rule.body.map((literal, i) => userLiteral(context.program, literal, i, NO_LOCALS));
  const common = { source: rule, slots: rule.vars.length + positions.length, tracked: context.withProof, linear };
  if (tail < 0) {
    const head = { table: tables.answers, args: rootedHead(rule.head.args, positions, roots) };
    return { kind: 'linear-exit', ...common, head, body: [goal, ...literals] };
  }
  const tailArgs = argsAt((rule.body[tail] as CAtom).args, mask);
  const head = { table: tables.goals, args: [...roots, ...tailArgs] };
  return { kind: 'goal', ...common, head, body: [goal, ...literals.filter((_, i) => i !== tail)] };
}

function linearStored(rel: string, tables: { goals: Table; answers: Table }, mask: number, context: BuildContext): IRule {
  const stored = storedLiteral(context.program, rel);
  const xs = stored.kind === 'atom' ? stored.atom.args : [];
  const positions = maskPositions(mask);
  const roots = varArgs(xs.length, positions.length);
  const linear = { rootSlots: roots.map((_, i) => xs.length + i), boundPositions: positions, tail: -1 };
  const goal = localAtom(tables.goals, [...roots, ...argsAt(xs, mask)]);
  const head = { table: tables.answers, args: rootedHead(xs, positions, roots) };
  return { kind: 'linear-stored', source: null, slots: xs.length + positions.length, head, body: [goal, stored], tracked: true, linear };
}

export function buildLinear(rel: string, mask: number, tails: ReadonlyMap<CompiledRule, number>, context: BuildContext): InstancePlan {
  const { arity } = relationOf(context.program, rel);
  const bound = maskPositions(mask).length;
  const name = `${rel}^${maskText(mask, arity)}`;
  const tables = { goals: new Table(`goal_${name}`, 2 * bound), answers: new Table(name, arity) };
  const rules = (context.program.rulesByHead.get(rel) ?? []).map((rule) => userRuleOf(rule, tails.get(rule) ?? -1, tables, mask, context));
  rules.push(linearStored(rel, tables, mask, context));
  return {
    mode: 'linear',
    rules,
    tables: [tables.goals, tables.answers],
    answers: new Map([[rel, tables.answers]]),
    seeds: tables.goals,
    seedOf: (values) => [...values, ...values],
  };
}
