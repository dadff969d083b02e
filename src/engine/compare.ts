/**
 * Comparison semantics. Numbers compare numerically and strings by UTF-16 code units (what `<`
 * does in JS). Across types only equality is meaningful: `=` / `!=` are strict equality, and an
 * ordering comparison between different types (or on booleans/null) is false, never an error.
 */
import type { Term } from '../domain/fact.js';
import { termsEqual } from '../domain/fact.js';
import type { CompareOp } from './ast.js';

function ordered(a: Term, b: Term): boolean {
  return (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
}

export function compareTerms(op: CompareOp, a: Term, b: Term): boolean {
  switch (op) {
    case '=':
      return termsEqual(a, b);
    case '!=':
      return !termsEqual(a, b);
    case '<':
      return ordered(a, b) && (a as number) < (b as number);
    case '<=':
      return ordered(a, b) && (a as number) <= (b as number);
    case '>':
      return ordered(a, b) && (a as number) > (b as number);
    case '>=':
      return ordered(a, b) && (a as number) >= (b as number);
  }
}

const RANK = { object: 0, boolean: 1, number: 2, string: 3 } as const;

/** A total order on terms for sorting answers: null < false < true < numbers < strings. */
export function orderTerms(a: Term, b: Term): number {
  if (a === b) return 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : 1;
  const ra = RANK[typeof a as keyof typeof RANK];
  const rb = RANK[typeof b as keyof typeof RANK];
  if (ra !== rb) return ra - rb;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}
