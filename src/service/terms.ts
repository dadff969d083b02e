import { ValidationError } from '../domain/errors.js';
import type { Term } from '../domain/fact.js';

/** An argument of a pattern: a constant, or a variable (name '' is the anonymous variable "?"). */
export type PatternArg = { readonly kind: 'const'; readonly value: Term } | { readonly kind: 'var'; readonly name: string };

/** "?x" is a variable, "?" the anonymous one, "??x" the literal string "?x". */
export function parsePatternArg(raw: Term): PatternArg {
  if (typeof raw !== 'string' || !raw.startsWith('?')) return { kind: 'const', value: raw };
  if (raw.startsWith('??')) return { kind: 'const', value: raw.slice(1) };
  return { kind: 'var', name: raw.slice(1) };
}

/** Arguments of a fact being stored: variables are not allowed, "??x" stores "?x". */
export function parseFactArgs(args: readonly Term[], path: string): Term[] {
  return args.map((raw, i) => {
    const arg = parsePatternArg(raw);
    if (arg.kind === 'var') {
      throw new ValidationError(`${path}.args.${i}: a fact cannot contain the variable '${String(raw)}' (write '?${String(raw)}' for a literal)`, {
        path: `${path}.args.${i}`,
      });
    }
    return arg.value;
  });
}
