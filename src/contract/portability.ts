import { z } from 'zod';
import { MAX_ARITY } from '../domain/fact.js';
import { MAX_WINDOW_FACTS, SessionIdSchema } from './context.js';
import { NameSchema, PredicateSchema } from './facts.js';

/*
 * The export format: JSON lines. A header, then the tenant's scopes, its rules, the facts of
 * every scope (with their versions, times and metadata), its context sessions and access counts
 * (version 2; what lets a moved tenant's agents go on with `/context/diff`), and an end line with
 * the counts, so that a cut-off file is told from a whole one. An import reads versions 1 and 2.
 */

export const EXPORT_FORMAT = 'vesper-export';
export const EXPORT_VERSION = 2;

const Term = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Time = z.number().int();

export const ExportHeader = z.strictObject({ kind: z.literal('header'), format: z.literal(EXPORT_FORMAT), version: z.union([z.literal(1), z.literal(EXPORT_VERSION)]), database: z.string(), tenant: z.string(), exportedAt: Time });
export const ExportScope = z.strictObject({ kind: z.literal('scope'), name: NameSchema, base: NameSchema.nullable(), createdAt: Time });
export const ExportRule = z.strictObject({ kind: z.literal('rule'), id: z.string().regex(/^rule_[a-z0-9]{1,40}$/), text: z.string().min(1).max(100_000), scope: NameSchema.nullable(), createdAt: Time });
export const ExportFact = z.strictObject({
  kind: z.literal('fact'),
  scope: NameSchema,
  predicate: PredicateSchema,
  args: z.array(Term).max(MAX_ARITY),
  negated: z.boolean(),
  version: z.number().int().min(1),
  confidence: z.number().min(0).max(1),
  createdAt: Time,
  updatedAt: Time,
  ttl: z.number().nullable(),
  expiresAt: Time.nullable(),
  validFrom: Time.nullable(),
  validUntil: Time.nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
export const ExportSession = z.strictObject({
  kind: z.literal('session'),
  id: SessionIdSchema,
  windowId: z.string().max(200),
  createdAt: Time,
  lastUsedAt: Time,
  entries: z
    .array(z.strictObject({ predicate: PredicateSchema, args: z.array(Term).max(MAX_ARITY), negated: z.boolean(), scope: NameSchema.nullable(), digest: z.string().max(200) }))
    .max(MAX_WINDOW_FACTS),
});
/** How many windows included a fact (its canonical identity, domain/fact.ts factKeyId). */
export const ExportAccess = z.strictObject({ kind: z.literal('access'), fact: z.string().min(1).max(100_000), count: z.number().int().min(1) });
const Count = z.number().int();
export const ExportEnd = z.strictObject({ kind: z.literal('end'), scopes: Count, rules: Count, facts: Count, sessions: Count.optional(), accessCounts: Count.optional() });

export const ExportLine = z.discriminatedUnion('kind', [ExportHeader, ExportScope, ExportRule, ExportFact, ExportSession, ExportAccess, ExportEnd]);
export type ExportLine = z.output<typeof ExportLine>;

export const ImportReply = z.object({
  database: z.string(),
  tenant: z.string(),
  imported: z.object({ scopes: z.number().int(), rules: z.number().int(), facts: z.number().int(), sessions: z.number().int(), accessCounts: z.number().int() }),
});
