/**
 * The JSON form of rules and literals (`POST /teach`, MCP `teach`, conjunctive `ask`) → AST.
 * Input is untrusted: every wrong shape is a ValidationError naming the path, never a TypeError.
 *
 * Argument strings starting with `?` are variables; `??x` escapes the literal string `?x`.
 */
import type { Term } from '../domain/fact.js';
import { ValidationError } from '../domain/errors.js';
import type { Atom, BodyLiteral, CompareOp, EngineTerm, Rule } from './ast.js';
import { COMPARE_OPS, VARIABLE_NAME } from './ast.js';

type JsonObject = Record<string, unknown>;

function invalid(path: string, expected: string): ValidationError {
  return new ValidationError(`${path}: expected ${expected}`, { problem: 'INVALID_SHAPE', path });
}

function asObject(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'an object');
  return value as JsonObject;
}

function asArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, 'an array');
  return value;
}

function asBoolean(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(path, 'a boolean');
  return value;
}

function predicateName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(path, 'a non-empty predicate name');
  return value;
}

export function parseJsonTerm(value: unknown, path: string): EngineTerm {
  if (typeof value === 'string' && value.startsWith('?')) {
    if (value.startsWith('??')) return { kind: 'const', value: value.slice(1) };
    const name = value.slice(1);
    if (!VARIABLE_NAME.test(name)) throw invalid(path, `a variable name like "?x" (letters, digits, _), got ${JSON.stringify(value)}`);
    return { kind: 'var', name };
  }
  const ok = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
  if (!ok) throw invalid(path, 'a string, finite number, boolean or null');
  return { kind: 'const', value: value as Term };
}

function parseArgs(value: unknown, path: string): EngineTerm[] {
  return asArray(value, path).map((arg, i) => parseJsonTerm(arg, `${path}[${i}]`));
}

function parseJsonAtom(object: JsonObject, path: string): Atom {
  return {
    kind: 'atom',
    predicate: predicateName(object['predicate'], `${path}.predicate`),
    args: parseArgs(object['args'], `${path}.args`),
    negated: asBoolean(object['negated'], `${path}.negated`),
  };
}

/** `{predicate, args, negated?, not?}` (an atom, `not` = negation as failure) or `{op, left, right}`. */
export function parseJsonLiteral(value: unknown, path = 'literal'): BodyLiteral {
  const object = asObject(value, path);
  if ('op' in object) {
    const op = object['op'];
    if (typeof op !== 'string' || !(COMPARE_OPS as readonly string[]).includes(op)) {
      throw invalid(`${path}.op`, `one of ${COMPARE_OPS.join(' ')}`);
    }
    const left = parseJsonTerm(object['left'], `${path}.left`);
    const right = parseJsonTerm(object['right'], `${path}.right`);
    return { kind: 'compare', op: op as CompareOp, left, right };
  }
  const atom = parseJsonAtom(object, path);
  return asBoolean(object['not'], `${path}.not`) ? { kind: 'not', atom } : atom;
}

/** `{head: {predicate, args}, body: [literal…], id?}`; other fields (e.g. `scope`) are the caller's business. */
export function parseJsonRule(value: unknown, path = 'rule'): Rule {
  const object = asObject(value, path);
  const head = asObject(object['head'], `${path}.head`);
  if (asBoolean(head['negated'], `${path}.head.negated`)) {
    throw invalid(`${path}.head.negated`, 'false: a rule derives positive facts only');
  }
  const body = asArray(object['body'], `${path}.body`).map((literal, i) => parseJsonLiteral(literal, `${path}.body[${i}]`));
  const rule: Rule = {
    head: { predicate: predicateName(head['predicate'], `${path}.head.predicate`), args: parseArgs(head['args'], `${path}.head.args`) },
    body,
  };
  const id = object['id'];
  if (id === undefined || id === null) return rule;
  if (typeof id !== 'string') throw invalid(`${path}.id`, 'a string');
  return { ...rule, id };
}
