/**
 * What an evaluation instance runs: its tables and instance rules, in one of three modes.
 *
 * - full: a component's rules as written, every relation computed completely (asked with no
 *   bound argument, or already complete).
 * - magic (magic.ts): magic-sets rewriting for one binding pattern, so only what the demanded
 *   bound arguments can reach is derived.
 * - linear (linear.ts): for right-linear recursion (`p(x,z) :- e(x,y), p(y,z)` asked with x
 *   bound) goals are tracked per root, so one query costs what it reaches, not the closure of
 *   what it reaches as plain magic sets would.
 *
 * Every mode also adds the stored facts of each derived relation (a relation is the union of its
 * stored facts and its derivations).
 */
import type { Term } from '../domain/fact.js';
import type { ILiteral, IRule } from './irule.js';
import type { PlanLiteral } from './plan.js';
import type { Arg, CAtom, CLiteral, CompiledProgram, CompiledRule } from './program.js';
import type { Component } from './stratify.js';
import { Table } from './table.js';

export interface InstancePlan {
  readonly mode: 'full' | 'magic' | 'linear';
  readonly rules: readonly IRule[];
  readonly tables: readonly Table[];
  /** Where callers read the answers of a relation. */
  readonly answers: ReadonlyMap<string, Table>;
  /** Receives demanded bound arguments (null in full mode). */
  readonly seeds: Table | null;
  /** The seed tuple for the bound values a caller asks with. */
  seedOf(values: readonly Term[]): Term[];
}

export interface BuildContext {
  readonly program: CompiledProgram;
  readonly withProof: boolean;
  /** Planner size estimate of an atom literal (0 for filters). */
  base(literal: ILiteral): number;
}

export function argsAt(args: readonly Arg[], mask: number): Arg[] {
  return args.filter((_, position) => (mask >> position) & 1);
}

export function varArgs(from: number, count: number): Arg[] {
  return Array.from({ length: count }, (_, i): Arg => ({ kind: 'var', slot: from + i }));
}

export function maskText(mask: number, arity: number): string {
  return Array.from({ length: arity }, (_, position) => ((mask >> position) & 1 ? 'b' : 'f')).join('');
}

/** An atom over one of the instance's own tables (demand or goal tables); `origin` -1: not a user literal. */
export function localAtom(table: Table, args: readonly Arg[]): ILiteral {
  const atom: CAtom = { kind: 'atom', predicate: table.name, negated: false, rel: `${table.name}/${args.length}`, args };
  return { kind: 'atom', source: 'local', table, atom, origin: -1 };
}

/** A user literal; atoms of `local` relations read that table, others the store or another instance. */
export function userLiteral(program: CompiledProgram, literal: CLiteral, origin: number, local: ReadonlyMap<string, Table>): ILiteral {
  if (literal.kind === 'compare') return { kind: 'compare', literal, origin };
  const atom = literal.kind === 'atom' ? literal : literal.atom;
  const derived = !atom.negated && program.rulesByHead.has(atom.rel);
  if (literal.kind === 'not') return { kind: 'not', source: derived ? 'derived' : 'stored', atom, origin };
  const table = atom.negated ? undefined : local.get(atom.rel);
  if (table !== undefined) return { kind: 'atom', source: 'local', table, atom, origin };
  return { kind: 'atom', source: derived ? 'derived' : 'stored', table: null, atom, origin };
}

export function planLiterals(body: readonly ILiteral[], context: BuildContext): PlanLiteral[] {
  return body.map((literal): PlanLiteral => {
    if (literal.kind === 'compare') return { kind: 'filter', args: [literal.literal.left, literal.literal.right], base: 0 };
    if (literal.kind === 'not') return { kind: 'filter', args: literal.atom.args, base: 0 };
    return { kind: 'atom', args: literal.atom.args, base: context.base(literal) };
  });
}

export function relationOf(program: CompiledProgram, rel: string): { predicate: string; arity: number } {
  const info = program.relations.get(rel);
  if (info === undefined) throw new TypeError(`unknown relation ${rel}`);
  return info;
}

/** The stored-facts literal of a derived relation (all arguments variables, slots 0..arity-1). */
export function storedLiteral(program: CompiledProgram, rel: string): ILiteral {
  const { predicate, arity } = relationOf(program, rel);
  const atom: CAtom = { kind: 'atom', predicate, negated: false, rel, args: varArgs(0, arity) };
  return { kind: 'atom', source: 'stored', table: null, atom, origin: -1 };
}

/** `answers(x…) :- [demand(x_bound…),] stored(x…)`: the stored literal is last (emission reads its premise). */
export function storedRule(program: CompiledProgram, rel: string, answers: Table, demand: { table: Table; mask: number } | null): IRule {
  const stored = storedLiteral(program, rel);
  const args = stored.kind === 'atom' ? stored.atom.args : [];
  const body = demand === null ? [stored] : [localAtom(demand.table, argsAt(args, demand.mask)), stored];
  return { kind: 'stored', source: null, slots: args.length, head: { table: answers, args }, body, tracked: true, linear: null };
}

function userRule(program: CompiledProgram, rule: CompiledRule, head: Table, local: ReadonlyMap<string, Table>, withProof: boolean): IRule {
  const body = rule.body.map((literal, i) => userLiteral(program, literal, i, local));
  return { kind: 'rule', source: rule, slots: rule.vars.length, head: { table: head, args: rule.head.args }, body, tracked: withProof, linear: null };
}

/** The component's rules as written: every relation of it computed completely. */
export function buildFull(component: Component, context: BuildContext): InstancePlan {
  const { program } = context;
  const tables = new Map(component.relations.map((rel) => [rel, new Table(rel, relationOf(program, rel).arity)]));
  const rules: IRule[] = [];
  for (const [rel, table] of tables) {
    for (const rule of program.rulesByHead.get(rel) ?? []) rules.push(userRule(program, rule, table, tables, context.withProof));
    rules.push(storedRule(program, rel, table, null));
  }
  return { mode: 'full', rules, tables: [...tables.values()], answers: tables, seeds: null, seedOf: (values) => [...values] };
}
