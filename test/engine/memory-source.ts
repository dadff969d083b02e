/**
 * An in-memory FactSource for engine tests. It counts and records every match() call so that
 * tests can assert goal-directedness (which store scans a query caused).
 */
import type { FactPattern, Term } from '../../src/domain/fact.js';
import { termsEqual } from '../../src/domain/fact.js';
import type { FactSource, SourceFact } from '../../src/engine/index.js';

export interface MemoryFact {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated?: boolean;
}

export class MemorySource implements FactSource {
  readonly calls: FactPattern[] = [];
  estimates = 0;

  constructor(readonly facts: readonly MemoryFact[]) {}

  private matches(pattern: FactPattern, fact: MemoryFact): boolean {
    return (
      fact.predicate === pattern.predicate &&
      fact.args.length === pattern.args.length &&
      (fact.negated ?? false) === pattern.negated &&
      pattern.args.every((arg, i) => arg === undefined || termsEqual(arg, fact.args[i]!))
    );
  }

  async *match(pattern: FactPattern): AsyncIterable<SourceFact> {
    this.calls.push(pattern);
    for (let i = 0; i < this.facts.length; i++) {
      const fact = this.facts[i]!;
      if (this.matches(pattern, fact)) yield { args: fact.args, ref: { index: i } };
    }
  }

  async estimate(pattern: FactPattern): Promise<number> {
    this.estimates += 1;
    return this.facts.filter((fact) => this.matches(pattern, fact)).length;
  }

  /** match() calls for one predicate. */
  callsFor(predicate: string): FactPattern[] {
    return this.calls.filter((call) => call.predicate === predicate);
  }
}

/** Facts from a compact list: `fact('parent', 'alice', 'bob')`. */
export function fact(predicate: string, ...args: Term[]): MemoryFact {
  return { predicate, args };
}

export function negatedFact(predicate: string, ...args: Term[]): MemoryFact {
  return { predicate, args, negated: true };
}

/** Seeded PRNG (mulberry32): deterministic random data for cross-checks. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
