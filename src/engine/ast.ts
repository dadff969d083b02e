/**
 * The rules AST: plain JSON-compatible data passed between the pipeline stages
 * (parse → validate → stratify → plan → evaluate), plus its canonical text form.
 *
 * The canonical text is what clients see (`POST /teach` echoes it, proofs name rules by it), so it
 * must parse back to an equal rule: `parse(formatRule(r))` round-trips.
 */
import type { Term } from '../domain/fact.js';

export type EngineTerm = { readonly kind: 'var'; readonly name: string } | { readonly kind: 'const'; readonly value: Term };

/** A positive atom. `negated` is classical negation: it matches stored facts told with `negated: true`. */
export interface Atom {
  readonly kind: 'atom';
  readonly predicate: string;
  readonly args: readonly EngineTerm[];
  readonly negated: boolean;
}

/** Negation as failure: true when the atom cannot be found or derived. */
export interface NotLiteral {
  readonly kind: 'not';
  readonly atom: Atom;
}

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export const COMPARE_OPS: readonly CompareOp[] = ['=', '!=', '<', '<=', '>', '>='];

export interface Comparison {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: EngineTerm;
  readonly right: EngineTerm;
}

export type BodyLiteral = Atom | NotLiteral | Comparison;

export interface RuleHead {
  readonly predicate: string;
  readonly args: readonly EngineTerm[];
}

export interface Rule {
  readonly id?: string;
  readonly head: RuleHead;
  readonly body: readonly BodyLiteral[];
}

/** A conjunctive query; its variables are the answer variables. */
export interface Query {
  readonly literals: readonly BodyLiteral[];
}

export const variable = (name: string): EngineTerm => ({ kind: 'var', name });
export const constant = (value: Term): EngineTerm => ({ kind: 'const', value });

/** Bare words the parser reads as identifiers (constants or predicate names). */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*$/;
/** Strings printed without quotes; narrower than IDENTIFIER so the canonical text stays plain. */
const BARE_STRING = /^[a-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['true', 'false', 'null']);
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatValue(value: Term): string {
  if (typeof value === 'string') {
    return BARE_STRING.test(value) && !KEYWORDS.has(value) ? value : JSON.stringify(value);
  }
  return String(value);
}

export function formatTerm(term: EngineTerm): string {
  return term.kind === 'var' ? `?${term.name}` : formatValue(term.value);
}

function formatPredicate(predicate: string): string {
  return IDENTIFIER.test(predicate) ? predicate : JSON.stringify(predicate);
}

function formatAtomParts(predicate: string, args: readonly EngineTerm[]): string {
  return `${formatPredicate(predicate)}(${args.map(formatTerm).join(', ')})`;
}

export function formatAtom(atom: Atom): string {
  return (atom.negated ? '-' : '') + formatAtomParts(atom.predicate, atom.args);
}

export function formatLiteral(literal: BodyLiteral): string {
  switch (literal.kind) {
    case 'atom':
      return formatAtom(literal);
    case 'not':
      return `not ${formatAtom(literal.atom)}`;
    case 'compare':
      return `${formatTerm(literal.left)} ${literal.op} ${formatTerm(literal.right)}`;
  }
}

/** Canonical text: `grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).` */
export function formatRule(rule: Rule): string {
  const head = formatAtomParts(rule.head.predicate, rule.head.args);
  if (rule.body.length === 0) return `${head}.`;
  return `${head} :- ${rule.body.map(formatLiteral).join(', ')}.`;
}

/** Canonical text of a query: `?- parent(alice, ?y), not dead(?y).` */
export function formatQuery(query: Query): string {
  return `?- ${query.literals.map(formatLiteral).join(', ')}.`;
}

/** Variable names of a literal, in order of appearance (with repeats). */
export function literalVariables(literal: BodyLiteral): string[] {
  const terms =
    literal.kind === 'atom' ? literal.args : literal.kind === 'not' ? literal.atom.args : [literal.left, literal.right];
  const names: string[] = [];
  for (const term of terms) if (term.kind === 'var') names.push(term.name);
  return names;
}
