import { presentFact, presentProof } from '../contract/present.js';
import type { StoredFact } from '../domain/fact.js';
import type { MergeConflict } from '../scopes/merge.js';
import type { AnswerFact, AskResult } from './query.js';
import type { DiffPage, MergeResult } from './scopes.js';

/*
 * The JSON replies of asks, diffs and merges, one definition for every transport: REST replies
 * and MCP tool results are the same objects (test/mcp/parity.test.ts checks it end to end).
 */

function presentAnswerFact(fact: AnswerFact, context: string) {
  if (fact.kind === 'stored') return presentFact(fact.fact, context);
  const derived = { predicate: fact.predicate, args: fact.args, negated: false, scope: fact.scope, derived: true, $context: context };
  return fact.proof ? { ...derived, proof: presentProof(fact.proof) } : derived;
}

export function presentAsk(result: AskResult, context: string) {
  if (result.results.length === 0 && result.cursor === null) return { results: [] };
  const results = result.results.map((answer) =>
    result.conjunctive
      ? { bindings: answer.bindings, facts: answer.facts.map((f) => presentAnswerFact(f, context)) }
      : { ...presentAnswerFact(answer.facts[0] as AnswerFact, context), bindings: answer.bindings },
  );
  return { results, cursor: result.cursor };
}

function presentConflicts(conflicts: readonly MergeConflict[], context: string) {
  const fact = (f: StoredFact | null) => (f ? presentFact(f, context) : null);
  return conflicts.map((c) => ({ predicate: c.predicate, args: c.args, source: fact(c.source), target: fact(c.target) }));
}

export function presentDiffPage(source: string, target: string, page: DiffPage, context: string) {
  return {
    source,
    target,
    onlyInSource: page.onlyInSource.map((f) => presentFact(f, context)),
    onlyInTarget: page.onlyInTarget.map((f) => presentFact(f, context)),
    inBoth: page.inBoth,
    conflicts: presentConflicts(page.conflicts, context),
    cursor: page.cursor,
  };
}

export function presentMerge(source: string, target: string, result: MergeResult, context: string) {
  return {
    source,
    target,
    result: result.kind,
    merged: result.merged,
    conflictsResolved: result.conflictsResolved,
    strategy: result.strategy,
    conflicts: presentConflicts(result.conflicts, context),
  };
}
