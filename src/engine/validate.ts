/**
 * Per-rule and per-query checks: shape, arity and range restriction (safety). A rule is safe when
 * every variable of its head, of its `not` literals and of its comparisons occurs in a positive
 * atom of its body (classically negated atoms count: they match stored facts). Safety is what
 * makes every derived fact ground and every `not` a finite membership test.
 */
import { ValidationError } from '../domain/errors.js';
import { MAX_ARITY } from '../domain/fact.js';
import type { BodyLiteral, EngineTerm, Query, Rule } from './ast.js';
import { VARIABLE_NAME, formatLiteral, formatQuery, formatRule, literalVariables } from './ast.js';

export type RuleProblem =
  | 'EMPTY_BODY'
  | 'EMPTY_QUERY'
  | 'INVALID_PREDICATE'
  | 'INVALID_VARIABLE'
  | 'ARITY_TOO_LARGE'
  | 'UNSAFE_HEAD_VARIABLE'
  | 'UNSAFE_NEGATED_VARIABLE'
  | 'UNSAFE_COMPARISON_VARIABLE'
  | 'NOT_STRATIFIABLE';

/** The error for a bad rule: its message names the rule (canonical text, id) and the problem. */
export function ruleError(rule: Rule, problem: RuleProblem, explanation: string): ValidationError {
  const text = formatRule(rule);
  const id = rule.id ?? null;
  const named = id === null ? `rule \`${text}\`` : `rule ${id} \`${text}\``;
  return new ValidationError(`${named} ${explanation}`, { rule: text, ruleId: id, problem });
}

function queryError(query: Query, problem: RuleProblem, explanation: string): ValidationError {
  const text = formatQuery(query);
  return new ValidationError(`query \`${text}\` ${explanation}`, { query: text, problem });
}

type Complaint = { problem: RuleProblem; explanation: string } | null;

function checkTerms(terms: readonly EngineTerm[]): Complaint {
  for (const term of terms) {
    if (term.kind === 'var' && !VARIABLE_NAME.test(term.name)) {
      return { problem: 'INVALID_VARIABLE', explanation: `has an invalid variable name ${JSON.stringify(term.name)}` };
    }
  }
  return null;
}

function checkAtomShape(predicate: string, args: readonly EngineTerm[]): Complaint {
  if (typeof predicate !== 'string' || predicate.length === 0) {
    return { problem: 'INVALID_PREDICATE', explanation: 'has an empty predicate name' };
  }
  if (args.length > MAX_ARITY) {
    return {
      problem: 'ARITY_TOO_LARGE',
      explanation: `uses ${predicate}/${args.length}: a predicate takes at most ${MAX_ARITY} arguments`,
    };
  }
  return checkTerms(args);
}

function checkLiteralShape(literal: BodyLiteral): Complaint {
  switch (literal.kind) {
    case 'atom':
      return checkAtomShape(literal.predicate, literal.args);
    case 'not':
      return checkAtomShape(literal.atom.predicate, literal.atom.args);
    case 'compare':
      return checkTerms([literal.left, literal.right]);
  }
}

function checkBody(body: readonly BodyLiteral[]): Complaint {
  for (const literal of body) {
    const complaint = checkLiteralShape(literal);
    if (complaint !== null) return complaint;
  }
  return checkBodySafety(body);
}

/** Variables bound by the positive (non-`not`) atoms of a body. */
export function boundVariables(body: readonly BodyLiteral[]): Set<string> {
  const bound = new Set<string>();
  for (const literal of body) if (literal.kind === 'atom') for (const name of literalVariables(literal)) bound.add(name);
  return bound;
}

function checkBodySafety(body: readonly BodyLiteral[]): Complaint {
  const bound = boundVariables(body);
  for (const literal of body) {
    if (literal.kind === 'atom') continue;
    const loose = literalVariables(literal).find((name) => !bound.has(name));
    if (loose === undefined) continue;
    const problem = literal.kind === 'not' ? 'UNSAFE_NEGATED_VARIABLE' : 'UNSAFE_COMPARISON_VARIABLE';
    return {
      problem,
      explanation: `is unsafe: variable ?${loose} in \`${formatLiteral(literal)}\` does not occur in a positive body atom`,
    };
  }
  return null;
}

function checkRule(rule: Rule): Complaint {
  const head = checkAtomShape(rule.head.predicate, rule.head.args);
  if (head !== null) return head;
  if (rule.body.length === 0) {
    return { problem: 'EMPTY_BODY', explanation: 'has an empty body: store facts with tell, a rule needs at least one body literal' };
  }
  const body = checkBody(rule.body);
  if (body !== null) return body;
  const bound = boundVariables(rule.body);
  for (const term of rule.head.args) {
    if (term.kind === 'var' && !bound.has(term.name)) {
      return { problem: 'UNSAFE_HEAD_VARIABLE', explanation: `is unsafe: head variable ?${term.name} does not occur in a positive body atom` };
    }
  }
  return null;
}

/** Throws the first problem of one rule (shape, arity, safety); stratification is a whole-program check. */
export function validateRule(rule: Rule): void {
  const complaint = checkRule(rule);
  if (complaint !== null) throw ruleError(rule, complaint.problem, complaint.explanation);
}

/** A query must be non-empty and safe, like a rule body. */
export function validateQuery(query: Query): void {
  if (query.literals.length === 0) throw queryError(query, 'EMPTY_QUERY', 'has no literals');
  const complaint = checkBody(query.literals);
  if (complaint !== null) throw queryError(query, complaint.problem, complaint.explanation);
}
