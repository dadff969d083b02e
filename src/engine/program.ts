/**
 * compileProgram: validate every rule, stratify the whole program and number each rule's
 * variables (slots), so that evaluation works on arrays instead of name lookups. A compiled
 * program holds no per-query state and no data: the service may cache it until the rules change.
 *
 * Relations are named by predicate AND arity (`p/1` and `p/2` are different relations), exactly
 * as facts are keyed.
 */
import type { Term } from '../domain/fact.js';
import type { Atom, BodyLiteral, CompareOp, EngineTerm, Rule } from './ast.js';
import { formatRule } from './ast.js';
import type { Component, Dependency } from './stratify.js';
import { stratify } from './stratify.js';
import { ruleError, validateRule } from './validate.js';

export type Arg = { readonly kind: 'var'; readonly slot: number } | { readonly kind: 'const'; readonly value: Term };

export interface CAtom {
  readonly kind: 'atom';
  readonly predicate: string;
  readonly negated: boolean;
  /** Relation key `predicate/arity`. */
  readonly rel: string;
  readonly args: readonly Arg[];
}
export interface CNot {
  readonly kind: 'not';
  readonly atom: CAtom;
}
export interface CCompare {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: Arg;
  readonly right: Arg;
}
export type CLiteral = CAtom | CNot | CCompare;

export interface CompiledRule {
  readonly index: number;
  readonly id: string | null;
  /** Canonical text, as proofs and errors name the rule. */
  readonly text: string;
  readonly rule: Rule;
  /** Variable names by slot: slot i holds variable `vars[i]`. */
  readonly vars: readonly string[];
  readonly head: { readonly predicate: string; readonly rel: string; readonly args: readonly Arg[] };
  readonly body: readonly CLiteral[];
}

export interface RelationInfo {
  readonly predicate: string;
  readonly arity: number;
  /** Has at least one rule (it may also have stored facts: a relation is the union of both). */
  readonly derived: boolean;
  /** Evaluation stratum of a derived relation; 0 for stored-only relations. */
  readonly stratum: number;
}

export interface CompiledProgram {
  readonly rules: readonly CompiledRule[];
  readonly rulesByHead: ReadonlyMap<string, readonly CompiledRule[]>;
  readonly relations: ReadonlyMap<string, RelationInfo>;
  /** Strongly connected components of derived relations, dependencies first. */
  readonly components: readonly Component[];
  readonly componentOf: ReadonlyMap<string, Component>;
  /** Derived relation keys grouped by stratum, in evaluation order. */
  readonly strata: readonly (readonly string[])[];
}

export function relationKey(predicate: string, arity: number): string {
  return `${predicate}/${arity}`;
}

function compileTerm(term: EngineTerm, vars: string[]): Arg {
  if (term.kind === 'const') return { kind: 'const', value: term.value };
  let slot = vars.indexOf(term.name);
  if (slot < 0) slot = vars.push(term.name) - 1;
  return { kind: 'var', slot };
}

function compileAtom(atom: Atom, vars: string[]): CAtom {
  const args = atom.args.map((term) => compileTerm(term, vars));
  return { kind: 'atom', predicate: atom.predicate, negated: atom.negated, rel: relationKey(atom.predicate, args.length), args };
}

/** Compiles literals, numbering new variables after those already in `vars` (which grows). */
export function compileLiterals(literals: readonly BodyLiteral[], vars: string[]): CLiteral[] {
  return literals.map((literal): CLiteral => {
    switch (literal.kind) {
      case 'atom':
        return compileAtom(literal, vars);
      case 'not':
        return { kind: 'not', atom: compileAtom(literal.atom, vars) };
      case 'compare':
        return { kind: 'compare', op: literal.op, left: compileTerm(literal.left, vars), right: compileTerm(literal.right, vars) };
    }
  });
}

function compileRule(rule: Rule, index: number): CompiledRule {
  const vars: string[] = [];
  const headArgs = rule.head.args.map((term) => compileTerm(term, vars));
  const body = compileLiterals(rule.body, vars);
  const head = { predicate: rule.head.predicate, rel: relationKey(rule.head.predicate, headArgs.length), args: headArgs };
  return { index, id: rule.id ?? null, text: formatRule(rule), rule, vars, head, body };
}

/** Positive edges to atoms, negative edges to `not` atoms; classical negation reads stored facts only. */
function dependencies(rules: readonly CompiledRule[]): Dependency[] {
  const edges: Dependency[] = [];
  for (const rule of rules) {
    for (const literal of rule.body) {
      const atom = literal.kind === 'atom' ? literal : literal.kind === 'not' ? literal.atom : null;
      if (atom === null || atom.negated) continue;
      edges.push({ from: rule.head.rel, to: atom.rel, negative: literal.kind === 'not', rule: rule.index });
    }
  }
  return edges;
}

function collectRelations(rules: readonly CompiledRule[], stratumOf: ReadonlyMap<string, number>): Map<string, RelationInfo> {
  const relations = new Map<string, RelationInfo>();
  const add = (predicate: string, arity: number): void => {
    const rel = relationKey(predicate, arity);
    if (relations.has(rel)) return;
    const stratum = stratumOf.get(rel);
    relations.set(rel, { predicate, arity, derived: stratum !== undefined, stratum: stratum ?? 0 });
  };
  for (const rule of rules) {
    add(rule.head.predicate, rule.head.args.length);
    for (const literal of rule.body) {
      if (literal.kind === 'atom') add(literal.predicate, literal.args.length);
      if (literal.kind === 'not') add(literal.atom.predicate, literal.atom.args.length);
    }
  }
  return relations;
}

/** Validates (safety, arity, stratification) and compiles; throws a ValidationError naming the rule. */
export function compileProgram(rules: readonly Rule[]): CompiledProgram {
  rules.forEach(validateRule);
  const compiled = rules.map(compileRule);
  const rulesByHead = new Map<string, CompiledRule[]>();
  for (const rule of compiled) {
    const same = rulesByHead.get(rule.head.rel);
    if (same === undefined) rulesByHead.set(rule.head.rel, [rule]);
    else same.push(rule);
  }
  const derived = [...rulesByHead.keys()];
  const result = stratify(derived, dependencies(compiled));
  if (!result.ok) {
    const { from, to, rule } = result.negativeCycle;
    const cycle = from === to ? '' : ` while ${to} depends on ${from}`;
    throw ruleError(rules[rule]!, 'NOT_STRATIFIABLE', `is not stratifiable: ${from} depends on \`not ${to}\`${cycle} (negation through recursion)`);
  }
  const componentOf = new Map<string, Component>();
  for (const component of result.components) for (const rel of component.relations) componentOf.set(rel, component);
  const stratumOf = new Map([...componentOf].map(([rel, component]) => [rel, component.stratum]));
  const relations = collectRelations(compiled, stratumOf);
  return { rules: compiled, rulesByHead, relations, components: result.components, componentOf, strata: result.strata };
}

/** Every relation the program mentions, derived or stored-only, sorted by key. */
export function relationsOf(program: CompiledProgram): RelationInfo[] {
  return [...program.relations.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, info]) => info);
}

/** False when no rule derives `predicate/arity`: the service may then answer with a plain store scan. */
export function isDerived(program: CompiledProgram, predicate: string, arity: number): boolean {
  return program.rulesByHead.has(relationKey(predicate, arity));
}
