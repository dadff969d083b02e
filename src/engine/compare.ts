/**
 * Comparison semantics. Numbers compare numerically and strings by Unicode code point (the order
 * of their UTF-8 bytes, which is also the order of the store's keys, so a range scan and a filter
 * agree). JS `<` compares UTF-16 code units, which differs for a surrogate pair (U+10000 and
 * above) against U+E000–U+FFFF: "😀" < "ｚ" in JS, but U+FF5A < U+1F600.
 * Across types only equality is meaningful: `=` / `!=` are strict equality, and an ordering
 * comparison between different types (or on booleans/null) is false, never an error.
 */
import type { Term } from '../domain/fact.js';
import { termsEqual } from '../domain/fact.js';
import type { CompareOp } from './ast.js';

/** A code unit moved so that code-unit order is code-point order: surrogates above U+E000–U+FFFF. */
function fixup(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** Strings by code point: negative, zero or positive. Only the first differing unit is looked at. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < 0xd800 && y < 0xd800 ? x - y : fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function sign(a: Term, b: Term): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : null;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  return null;
}

export function compareTerms(op: CompareOp, a: Term, b: Term): boolean {
  switch (op) {
    case '=':
      return termsEqual(a, b);
    case '!=':
      return !termsEqual(a, b);
  }
  const s = sign(a, b);
  if (s === null) return false;
  switch (op) {
    case '<':
      return s < 0;
    case '<=':
      return s <= 0;
    case '>':
      return s > 0;
    case '>=':
      return s >= 0;
  }
}

const RANK = { object: 0, boolean: 1, number: 2, string: 3 } as const;

/** A total order on terms for sorting answers: null < false < true < numbers < strings (by code point). */
export function orderTerms(a: Term, b: Term): number {
  if (a === b) return 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  const ra = RANK[typeof a as keyof typeof RANK];
  const rb = RANK[typeof b as keyof typeof RANK];
  if (ra !== rb) return ra - rb;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Answers by their bindings, in the order of `variables` (the order evaluateQuery returns them in). */
export function compareBindings(a: Readonly<Record<string, Term>>, b: Readonly<Record<string, Term>>, variables: readonly string[]): number {
  for (const name of variables) {
    const order = orderTerms(a[name]!, b[name]!);
    if (order !== 0) return order;
  }
  return 0;
}
