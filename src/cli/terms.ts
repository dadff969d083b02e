import { usageError } from './errors.js';

export type Term = string | number | boolean | null;

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A command-line argument as a term: `120` and `-2.5` are numbers, `"120"` (quotes kept by the
 * shell, e.g. '"120"') is the string "120", `?x` is a variable, anything else a string.
 */
export function parseTerm(raw: string): Term {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    try {
      return JSON.parse(raw) as string;
    } catch {
      throw usageError(`invalid quoted argument: ${raw}`);
    }
  }
  if (NUMBER.test(raw)) {
    const value = Number(raw);
    if (Number.isFinite(value)) return value;
  }
  return raw;
}

const BARE = /^[A-Za-z_?][A-Za-z0-9_.:@/-]*$/;

/** A term as a person reads it: bare words unquoted, strings that look like numbers or hold spaces quoted. */
export function formatTerm(term: unknown): string {
  if (typeof term === 'string') return BARE.test(term) && !NUMBER.test(term) ? term : JSON.stringify(term);
  return JSON.stringify(term) ?? String(term);
}
