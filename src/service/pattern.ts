import { type FactPattern, type Term, termsEqual } from '../domain/fact.js';
import { parsePatternArg } from './terms.js';

/** A client pattern made ready for the store: bound positions, and how variables bind and join within it. */
export interface CompiledPattern {
  readonly pattern: FactPattern;
  /** False when a variable repeated in the pattern binds different terms. */
  accepts(args: readonly Term[]): boolean;
  bindings(args: readonly Term[]): Record<string, Term>;
}

export function compilePattern(predicate: string, rawArgs: readonly Term[], negated: boolean): CompiledPattern {
  const parsed = rawArgs.map(parsePatternArg);
  const firstPosition = new Map<string, number>();
  const repeats: [number, number][] = [];
  parsed.forEach((arg, i) => {
    if (arg.kind !== 'var' || arg.name === '') return;
    const first = firstPosition.get(arg.name);
    if (first === undefined) firstPosition.set(arg.name, i);
    else repeats.push([first, i]);
  });
  return {
    pattern: { predicate, negated, args: parsed.map((a) => (a.kind === 'const' ? a.value : undefined)) },
    accepts: (args) => repeats.every(([a, b]) => termsEqual(args[a] as Term, args[b] as Term)),
    bindings: (args) => {
      const out: Record<string, Term> = {};
      for (const [name, i] of firstPosition) out[name] = args[i] as Term;
      return out;
    },
  };
}
