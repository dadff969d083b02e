import { z } from 'zod';
import { MAX_ARITY, MAX_METADATA_BYTES } from '../domain/fact.js';
import { isValidName } from '../domain/names.js';

/**
 * Keys are stored as UTF-8, which cannot carry a lone UTF-16 surrogate ("\ud800" is valid JSON):
 * it would be stored as U+FFFD, so the fact read back would not be the fact told. Refuse it instead.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);
const WELL_FORMED = { message: 'must not contain a lone UTF-16 surrogate' };

/** A term as JSON: string, number, boolean or null. Strings starting with '?' are variables in patterns. */
export const TermSchema = z.union([z.string().max(4096).refine(wellFormed, WELL_FORMED), z.number(), z.boolean(), z.null()], {
  error: 'a term must be a string, a finite number, a boolean or null',
});

export const NameSchema = z.string().refine(isValidName, { message: 'must be 1-64 characters of [A-Za-z0-9_.-]' });
export const PredicateSchema = z
  .string()
  .min(1, 'predicate must not be empty')
  .max(256)
  .refine((p) => !p.startsWith('?'), { message: 'predicate must be a constant, not a variable' })
  .refine(wellFormed, WELL_FORMED);

const ScopeField = NameSchema.nullable().optional();
const EpochMs = z.number().int().nonnegative().nullable().optional();

/**
 * Depth is checked before size: JSON.stringify recurses, and 8 KiB of `[[[…` nests ~8,000 levels,
 * deep enough to overflow the stack (a 500) before the size could be measured.
 */
export const MAX_METADATA_DEPTH = 64;

/** Nesting depth of a JSON value, without recursion, giving up once past `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

const Metadata = z
  .record(z.string(), z.unknown())
  .nullable()
  .optional()
  .superRefine((m, ctx) => {
    if (m == null) return;
    if (nestingDepth(m, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `metadata must nest at most ${MAX_METADATA_DEPTH} levels deep` });
    } else if (Buffer.byteLength(JSON.stringify(m)) > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON` });
    }
  });

/** Most dimensions an embedding may have (a database's `embeddingDimensions` fixes the exact number). */
export const MAX_EMBEDDING_DIMENSIONS = 4096;

/** The largest Float32: vectors are stored as Float32, so a larger (still finite) number would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** One value of a vector: finite, and finite still once stored as Float32. */
export const EmbeddingValueSchema = z
  .number({ error: 'embedding values must be finite numbers' })
  .finite()
  .refine((v) => Math.abs(v) <= FLOAT32_MAX, { message: `embedding values are stored as Float32: at most ${FLOAT32_MAX} in absolute value` });

/** A client-computed vector: finite numbers (JSON cannot carry others; zod refuses them anyway) within the Float32 range. */
export const EmbeddingSchema = z
  .array(EmbeddingValueSchema)
  .min(1, 'an embedding must not be empty')
  .max(MAX_EMBEDDING_DIMENSIONS, `an embedding has at most ${MAX_EMBEDDING_DIMENSIONS} dimensions`);

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
  /** Stored as Float32; null drops the stored vector; absent keeps it across an upsert. */
  embedding: EmbeddingSchema.nullable().optional(),
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

/** PATCH /tell: a stored fact (its identity: predicate, args, negated, scope) and the fields to change; the others are kept. */
export const PatchSchema = z
  .strictObject({
    predicate: PredicateSchema,
    args: z.array(TermSchema).max(MAX_ARITY, `at most ${MAX_ARITY} args`).default([]),
    negated: z.boolean().default(false),
    scope: ScopeField,
    confidence: z.number().min(0).max(1).optional(),
    ttl: z.number().int().positive().nullable().optional(),
    validFrom: EpochMs,
    validUntil: EpochMs,
    metadata: Metadata,
  })
  .refine((p) => ['confidence', 'ttl', 'validFrom', 'validUntil', 'metadata'].some((field) => field in p), {
    message: 'nothing to change: give confidence, ttl, validFrom, validUntil or metadata',
  });
export type PatchBody = z.output<typeof PatchSchema>;
