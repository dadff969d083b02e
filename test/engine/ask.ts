/**
 * Test helpers: run a query against rules in text form over in-memory facts, and check a proof
 * tree against the program and the facts it claims to use.
 */
import type { ExecutionContext } from 'ava';
import type { Term } from '../../src/domain/fact.js';
import type { EvaluateOptions, Proof, QueryResult } from '../../src/engine/index.js';
import { compileProgram, evaluateQueryWithStats, parseQuery, parseRules } from '../../src/engine/index.js';
import type { MemoryFact } from './memory-source.js';
import { MemorySource } from './memory-source.js';

export interface Asked extends QueryResult {
  readonly source: MemorySource;
  /** Just the bindings of each answer, in answer order. */
  readonly bindings: Record<string, Term>[];
}

export async function ask(rules: string, facts: readonly MemoryFact[], query: string, options: EvaluateOptions = {}): Promise<Asked> {
  const program = compileProgram(parseRules(rules));
  const source = new MemorySource(facts);
  const result = await evaluateQueryWithStats(program, source, parseQuery(query), options);
  return { ...result, source, bindings: result.answers.map((answer) => ({ ...answer.bindings })) };
}

/** Values of one variable over all answers, in answer order. */
export function column(asked: Asked, name: string): Term[] {
  return asked.bindings.map((bindings) => bindings[name]!);
}

const factKey = (predicate: string, args: readonly Term[], negated: boolean): string => JSON.stringify([predicate, negated, args]);

/**
 * Checks that a proof is a valid derivation: its fact is the rule head under the substitution,
 * it has one premise per body literal, stored premises are stored facts, and derived premises
 * are valid proofs themselves. Returns the depth of the tree.
 */
export function checkProof(t: ExecutionContext, proof: Proof, facts: readonly MemoryFact[]): number {
  const stored = new Set(facts.map((fact) => factKey(fact.predicate, fact.args, fact.negated ?? false)));
  const visit = (node: Proof, depth: number): number => {
    const rule = parseRules(node.rule)[0]!;
    const value = (term: (typeof rule.head.args)[number]): Term => (term.kind === 'var' ? node.substitution[term.name]! : term.value);
    t.deepEqual(node.fact, { predicate: rule.head.predicate, args: rule.head.args.map(value) }, `fact of ${node.rule}`);
    t.is(node.premises.length, rule.body.length, `premises of ${node.rule}`);
    let deepest = depth;
    rule.body.forEach((literal, i) => {
      const premise = node.premises[i]!;
      if (literal.kind === 'compare') {
        t.is(premise.kind, 'compare');
        return;
      }
      const atom = literal.kind === 'atom' ? literal : literal.atom;
      const args = atom.args.map(value);
      if (premise.kind === 'derived') {
        t.deepEqual(premise.proof.fact, { predicate: atom.predicate, args }, `derived premise of ${node.rule}`);
        deepest = Math.max(deepest, visit(premise.proof, depth + 1));
      } else if (premise.kind === 'stored') {
        t.deepEqual([premise.predicate, premise.args, premise.negated], [atom.predicate, args, atom.negated]);
        t.true(stored.has(factKey(premise.predicate, premise.args, premise.negated)), `stored premise ${premise.predicate}(${String(premise.args)})`);
      } else {
        t.is(premise.kind, 'not');
        if (premise.kind === 'not') t.false(stored.has(factKey(premise.predicate, premise.args, premise.negated)));
      }
    });
    return deepest;
  };
  return visit(proof, 1);
}
