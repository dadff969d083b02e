import { z } from 'zod';
import { MAX_ARITY } from '../domain/fact.js';
import { NameSchema, PredicateSchema, TermSchema } from './facts.js';
import { ReadTimeFields } from './time.js';

export const MAX_PAGE = 10_000;
export const DEFAULT_PAGE = 100;

const AtomSchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
  negated: z.boolean().default(false),
});
export type AtomBody = z.output<typeof AtomSchema>;

const Paging = {
  scope: NameSchema.nullable().optional(),
  limit: z.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  cursor: z.string().max(4096).nullable().optional(),
  infer: z.boolean().default(true),
  withProof: z.boolean().default(false),
  distinct: z.boolean().default(false),
  ...ReadTimeFields,
};

/** POST /ask: one pattern, or a conjunctive `query` (with optional negated `not` atoms). */
export const AskSchema = z.union([
  z.strictObject({ query: z.array(AtomSchema).min(1).max(32), not: z.array(AtomSchema).max(32).default([]), ...Paging }),
  AtomSchema.extend(Paging),
]);
export type AskBody = z.output<typeof AskSchema>;

export const AGGREGATE_OPERATIONS = ['COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'COUNT_DISTINCT'] as const;
export type AggregateOperation = (typeof AGGREGATE_OPERATIONS)[number];

/** A variable's name as aggregates take it: without the leading `?`. */
const VariableName = z
  .string()
  .min(1)
  .max(256)
  .refine((name) => !name.startsWith('?'), { message: 'name the variable without its leading "?"' });

const AggregateFields = {
  operation: z.enum(AGGREGATE_OPERATIONS),
  groupBy: z.array(VariableName).max(MAX_ARITY).default([]),
  scope: NameSchema.nullable().optional(),
  infer: z.boolean().default(true),
  ...ReadTimeFields,
};

/**
 * POST /aggregate: over the facts of one pattern (`argIndex` picks the value) or the answers of a
 * conjunctive `query` (`variable` names the value); COUNT needs neither.
 */
export const AggregateSchema = z.union([
  z.strictObject({ query: z.array(AtomSchema).min(1).max(32), not: z.array(AtomSchema).max(32).default([]), variable: VariableName.optional(), ...AggregateFields }),
  AtomSchema.extend({ argIndex: z.number().int().min(0).max(MAX_ARITY - 1).optional(), ...AggregateFields }),
]);
export type AggregateBody = z.output<typeof AggregateSchema>;

export const MAX_BATCH_QUERIES = 100;

/** POST /ask/batch: each item is what POST /ask takes, checked on its own (a bad one is its own error). */
export const AskBatchSchema = z.strictObject({
  queries: z.array(z.unknown()).min(1, 'queries must not be empty').max(MAX_BATCH_QUERIES, `at most ${MAX_BATCH_QUERIES} queries per batch`),
});
