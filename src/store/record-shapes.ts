import { z } from 'zod';
import type { ApiKeyRecord } from './key-store.js';
import type { DatabaseInfo } from './catalog.js';
import type { TenantEvent } from './event-log.js';
import type { RuleRecord } from './rule-records.js';
import type { ScopeRecord } from './scope-registry.js';
import type { SessionRecord } from './session-records.js';

/**
 * The shapes stored control records must have when read back (encoding/records.ts decodeJson):
 * bytes that do not fit are a CorruptionError naming the key, not a TypeError further on.
 * Unknown fields are kept, so a newer writer's extra fields do not make a record corrupt.
 */
const layerId = z.number().int().nonnegative();
const nullableString = z.string().nullable();

export const scopeShape: z.ZodType<ScopeRecord> = z.looseObject({
  name: z.string(),
  base: nullableString,
  chain: z.array(layerId).min(1),
  createdAt: z.number(),
  merges: z.record(z.string(), z.array(layerId)).optional(),
  cutoffs: z.record(z.string(), z.number()).optional(),
});

export const eventShape: z.ZodType<TenantEvent> = z.looseObject({
  seq: z.number().int().positive(),
  time: z.number(),
  op: z.string(),
  actor: nullableString,
  target: z.string(),
  outcome: z.enum(['ok', 'error']),
  scope: nullableString.optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const ruleShape: z.ZodType<RuleRecord> = z.looseObject({
  id: z.string(),
  text: z.string(),
  scope: nullableString,
  createdAt: z.number(),
});

export const sessionShape: z.ZodType<SessionRecord> = z.looseObject({
  windowId: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number(),
  entries: z.array(
    z.looseObject({
      predicate: z.string(),
      args: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
      negated: z.boolean(),
      scope: nullableString,
      digest: z.string(),
    }),
  ),
});

const grant = z.union([z.literal('*'), z.array(z.string())]);

export const apiKeyShape: z.ZodType<ApiKeyRecord> = z.looseObject({
  id: z.string(),
  name: nullableString,
  description: nullableString,
  role: z.enum(['reader', 'writer', 'admin']),
  databases: grant,
  tenants: grant,
  public: z.boolean(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  sandbox: z.literal(true).optional(),
  hash: z.string(),
});

/** A database's registration; `dropping` marks a drop that a crash may have interrupted. */
export const databaseShape: z.ZodType<DatabaseInfo & { readonly dropping?: boolean }> = z.looseObject({
  name: z.string(),
  createdAt: z.number(),
  dropping: z.boolean().optional(),
});
