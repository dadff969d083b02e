import { z } from 'zod';
import { MAX_ARITY, type Term } from '../domain/fact.js';
import { NameSchema, PredicateSchema, TermSchema } from './facts.js';

export const MAX_WINDOW_FACTS = 1000;
export const DEFAULT_WINDOW_FACTS = 25;

/** 1–128 characters of [A-Za-z0-9_.:-]: safe inside a key without escaping. */
export const SessionIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'sessionId must be 1-128 characters of [A-Za-z0-9_.:-]');

const GoalSchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
  negated: z.boolean().default(false),
});

const WindowFields = {
  scope: NameSchema.nullable().optional(),
  maxFacts: z.number().int().min(1).max(MAX_WINDOW_FACTS).default(DEFAULT_WINDOW_FACTS),
  predicates: z.array(PredicateSchema).max(256).default([]),
  goals: z.array(GoalSchema).max(16).default([]),
  maxFactsPerPredicate: z.number().int().min(1).max(MAX_WINDOW_FACTS).nullable().optional(),
  includeContradictions: z.boolean().default(false),
};

/** `POST /context/optimize`: a window; remembered for `sessionId` when one is given. */
export const OptimizeSchema = z.strictObject({ ...WindowFields, sessionId: SessionIdSchema.nullable().optional() });
export type OptimizeBody = z.output<typeof OptimizeSchema>;

/** `POST /context/diff`: the same request; the session is required. */
export const ContextDiffSchema = z.strictObject({ ...WindowFields, sessionId: SessionIdSchema });
export type ContextDiffBody = z.output<typeof ContextDiffSchema>;

export const ClearSessionSchema = z.strictObject({ sessionId: SessionIdSchema });

/**
 * What the presenters read, stated structurally so that the contract depends on no service type
 * (the service's ContextWindow, WindowDiff and entries fit these shapes).
 */
interface EntryView {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  readonly scope: string | null;
  readonly confidence: number;
  readonly createdAt: number | null;
  readonly salience: number;
  readonly provenance: { readonly rule: string; readonly premises: readonly string[] } | null;
}

interface RemovedView {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  readonly scope: string | null;
}

interface SideView {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly scope: string;
  readonly confidence: number;
  readonly updatedAt: number;
}

interface WindowView {
  readonly windowId: string;
  readonly entries: readonly EntryView[];
  readonly totalFactsAvailable: number;
  readonly relevantRules: readonly string[];
  readonly contradictionsFound: number;
  readonly contradictions: readonly { readonly positive: SideView; readonly negative: SideView; readonly included: string }[];
}

interface DiffView {
  readonly previousWindowId: string | null;
  readonly currentWindowId: string;
  readonly added: readonly EntryView[];
  readonly removed: readonly RemovedView[];
  readonly unchanged: number;
  readonly fullRefreshRecommended: boolean;
  readonly reason: string | null;
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;

export function presentEntry(entry: EntryView, context: string) {
  return {
    predicate: entry.predicate,
    args: entry.args,
    negated: entry.negated,
    scope: entry.scope,
    confidence: entry.confidence,
    createdAt: entry.createdAt,
    salience: round(entry.salience),
    provenance: entry.provenance,
    $context: context,
  };
}

export function presentRemoved(entry: RemovedView) {
  return { predicate: entry.predicate, args: entry.args, negated: entry.negated, scope: entry.scope };
}

/** The window as sent; totalCharCount is the length of the entries' JSON, what an agent's context pays for. */
export function presentWindow(window: WindowView, context: string) {
  const entries = window.entries.map((e) => presentEntry(e, context));
  const side = (f: SideView) => ({ scope: f.scope, confidence: f.confidence, updatedAt: f.updatedAt });
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

export function presentDiff(diff: DiffView, context: string) {
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

