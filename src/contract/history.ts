import { z } from 'zod';
import { NameSchema, PredicateSchema } from './facts.js';
import { DEFAULT_PAGE, MAX_PAGE } from './query.js';
import { MomentSchema } from './time.js';

/** `GET /history`: `args` is a JSON array (a query string carries text), or an array from MCP. */
export const HistorySchema = z.strictObject({
  predicate: PredicateSchema,
  args: z.union([z.string().max(65_536), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(16)]).optional(),
  scope: NameSchema.optional(),
  limit: z.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  cursor: z.string().max(4096).optional(),
});
export type HistoryQuery = z.output<typeof HistorySchema>;

export const RevertSchema = z.strictObject({ scope: NameSchema, to: MomentSchema });

const Term = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const JsonObject = z.record(z.string(), z.unknown());

export const VersionReply = z.object({
  predicate: z.string(),
  args: z.array(Term),
  negated: z.boolean(),
  scope: z.string(),
  version: z.number().int(),
  op: z.enum(['told', 'updated', 'retracted']),
  time: z.number(),
  actor: z.string().nullable(),
  confidence: z.number().nullable(),
  metadata: JsonObject.nullable(),
  ttl: z.number().nullable(),
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
});
export const HistoryReply = z.object({ versions: z.array(VersionReply), cursor: z.string().nullable() });
export const RevertReply = z.object({ scope: z.string(), to: z.number(), restored: z.number().int(), retracted: z.number().int(), unchanged: z.number().int() });
