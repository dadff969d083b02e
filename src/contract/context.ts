import { z } from 'zod';
import { MomentSchema } from './time.js';
import { MAX_ARITY } from '../domain/fact.js';
import { NameSchema, PredicateSchema, TermSchema } from './facts.js';
import { RelevanceFields } from './search.js';

export const MAX_WINDOW_FACTS = 1000;

/** 1–128 characters of [A-Za-z0-9_.:-]: safe inside a key without escaping. */
export const SessionIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'sessionId must be 1-128 characters of [A-Za-z0-9_.:-]');

const GoalSchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
  negated: z.boolean().default(false),
});

const WindowFields = {
  scope: NameSchema.nullable().optional(),
  /** Absent: the tenant's contextMaxFacts setting (DEFAULT_WINDOW_FACTS unless configured). */
  maxFacts: z.number().int().min(1).max(MAX_WINDOW_FACTS).optional(),
  predicates: z.array(PredicateSchema).max(256).default([]),
  goals: z.array(GoalSchema).max(16).default([]),
  maxFactsPerPredicate: z.number().int().min(1).max(MAX_WINDOW_FACTS).nullable().optional(),
  includeContradictions: z.boolean().default(false),
  ...RelevanceFields,
};

/** `POST /context/optimize`: a window; remembered for `sessionId` when one is given. */
export const OptimizeSchema = z.strictObject({
  ...WindowFields,
  sessionId: SessionIdSchema.nullable().optional(),
  /** The window as it would have been built at that moment (transaction time); not with a session or a query. */
  asOf: MomentSchema.optional(),
});
export type OptimizeBody = z.output<typeof OptimizeSchema> & { readonly maxFacts: number };

/** `POST /context/diff`: the same request; the session is required. */
export const ContextDiffSchema = z.strictObject({ ...WindowFields, sessionId: SessionIdSchema });
export type ContextDiffBody = z.output<typeof ContextDiffSchema> & { readonly maxFacts: number };

export const ClearSessionSchema = z.strictObject({ sessionId: SessionIdSchema });
