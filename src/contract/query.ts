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
