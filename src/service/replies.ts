import { presentFact, presentProof } from '../contract/present.js';
import type { StoredFact } from '../domain/fact.js';
import type { MergeConflict } from '../scopes/merge.js';
import type { WindowDiff } from './context/diff.js';
import type { EntryWhy, WindowEntry } from './context/selection.js';
import type { ContextWindow } from './context/window.js';
import type { SessionEntry } from '../store/session-records.js';
import type { AnswerFact, AskResult } from './query.js';
import type { DiffPage, MergeResult } from './scopes.js';

/*
 * The JSON replies of asks, diffs and merges, one definition for every transport: REST replies
 * and MCP tool results are the same objects (test/mcp/parity.test.ts checks it end to end).
 */

function presentAnswerFact(fact: AnswerFact, context: string) {
  if (fact.kind === 'stored') return presentFact(fact.fact, context);
  const derived = { predicate: fact.predicate, args: fact.args, negated: false as const, scope: fact.scope, derived: true as const, $context: context };
  return fact.proof ? { ...derived, proof: presentProof(fact.proof) } : derived;
}

export function presentAsk(result: AskResult, context: string) {
  if (result.results.length === 0 && result.cursor === null) return { results: [] };
  // Fields added to the presented fact with Object.assign, not spread into a new literal: a spread
  // followed by more properties defines each one through V8's runtime (one reply per point ask).
  const results = result.results.map((answer) => {
    const scopes = answer.scopes === undefined ? {} : { scopes: answer.scopes };
    return result.conjunctive
      ? { bindings: answer.bindings, ...scopes, facts: answer.facts.map((f) => presentAnswerFact(f, context)) }
      : Object.assign(presentAnswerFact(answer.facts[0] as AnswerFact, context), { bindings: answer.bindings }, scopes);
  });
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

// ---- context windows

const round = (value: number) => Math.round(value * 1e6) / 1e6;

export function presentEntry(entry: WindowEntry, context: string) {
  return {
    predicate: entry.predicate,
    args: entry.args,
    negated: entry.negated,
    scope: entry.scope,
    confidence: entry.confidence,
    createdAt: entry.createdAt,
    salience: round(entry.salience),
    provenance: entry.provenance,
    ...(entry.why === undefined ? {} : { why: presentWhy(entry.why) }),
    $context: context,
  };
}

function presentWhy(why: EntryWhy) {
  return {
    text: why.text === null ? null : round(why.text),
    matched: [...why.matched],
    vector: why.vector === null ? null : round(why.vector),
    relevance: round(why.relevance),
    goal: why.goal,
    focus: why.focus,
    confidence: why.confidence,
    recency: round(why.recency),
    access: round(why.access),
  };
}

export function presentRemoved(entry: SessionEntry) {
  return { predicate: entry.predicate, args: entry.args, negated: entry.negated, scope: entry.scope };
}

/** The window as sent; totalCharCount is the length of the entries' JSON, what an agent's context pays for. */
export function presentWindow(window: ContextWindow, context: string) {
  const entries = window.entries.map((e) => presentEntry(e, context));
  const side = (f: StoredFact) => ({ scope: f.scope, confidence: f.confidence, updatedAt: f.updatedAt });
  return {
    windowId: window.windowId,
    entries,
    totalFactsAvailable: window.totalFactsAvailable,
    totalFactsIncluded: entries.length,
    relevantRules: window.relevantRules,
    contradictionsFound: window.contradictionsFound,
    contradictions: window.contradictions.map((c) => ({
      predicate: c.positive.predicate,
      args: c.positive.args,
      positive: side(c.positive),
      negated: side(c.negative),
      included: c.included,
    })),
    totalCharCount: JSON.stringify(entries).length,
  };
}

export function presentDiff(diff: WindowDiff, context: string) {
  return {
    previousWindowId: diff.previousWindowId,
    currentWindowId: diff.currentWindowId,
    added: diff.added.map((e) => presentEntry(e, context)),
    removed: diff.removed.map(presentRemoved),
    unchanged: diff.unchanged,
    fullRefreshRecommended: diff.fullRefreshRecommended,
    reason: diff.reason,
  };
}

