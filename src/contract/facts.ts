import { z } from 'zod';
import { MAX_ARITY, MAX_METADATA_BYTES } from '../domain/fact.js';
import { isValidName } from '../domain/names.js';

/** A term as JSON: string, number, boolean or null. Strings starting with '?' are variables in patterns. */
export const TermSchema = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);

export const NameSchema = z.string().refine(isValidName, { message: 'must be 1-64 characters of [A-Za-z0-9_.-]' });
export const PredicateSchema = z
  .string()
  .min(1, 'predicate must not be empty')
  .max(256)
  .refine((p) => !p.startsWith('?'), { message: 'predicate must be a constant, not a variable' });

const ScopeField = NameSchema.nullable().optional();
const EpochMs = z.number().int().nonnegative().nullable().optional();

const Metadata = z
  .record(z.string(), z.unknown())
  .nullable()
  .optional()
  .refine((m) => m == null || Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, {
    message: `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  });

/** Fields a client may echo back from a reply; accepted and ignored on writes. */
const ReadOnlyFields = {
  version: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
  expiresAt: z.unknown().optional(),
  $context: z.unknown().optional(),
  bindings: z.unknown().optional(),
};

export const FactSchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
  negated: z.boolean().default(false),
  scope: ScopeField,
  confidence: z.number().min(0).max(1).default(1),
  ttl: z.number().int().positive().nullable().optional(),
  validFrom: EpochMs,
  validUntil: EpochMs,
  metadata: Metadata,
  ...ReadOnlyFields,
});
export type FactBody = z.output<typeof FactSchema>;

export const MAX_FACTS_PER_TELL = 10_000;

export const TellSchema = z.union([
  z.strictObject({
    facts: z.array(FactSchema).min(1, 'facts must not be empty').max(MAX_FACTS_PER_TELL, `at most ${MAX_FACTS_PER_TELL} facts per request`),
    scope: ScopeField,
  }),
  FactSchema,
]);
export type TellBody = z.output<typeof TellSchema>;

/** A pattern: args may be variables ("?x"), the anonymous variable "?", or constants ("??x" is the literal "?x"). */
export const PatternSchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
  negated: z.boolean().default(false),
  scope: ScopeField,
});
export type PatternBody = z.output<typeof PatternSchema>;

export const RetractSchema = PatternSchema.extend(ReadOnlyFields).extend({
  confidence: z.unknown().optional(),
  metadata: z.unknown().optional(),
  ttl: z.unknown().optional(),
  validFrom: z.unknown().optional(),
  validUntil: z.unknown().optional(),
});
export type RetractBody = z.output<typeof RetractSchema>;
