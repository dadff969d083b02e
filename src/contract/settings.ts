import { z } from 'zod';
import { NameSchema } from './facts.js';
import { MAX_WINDOW_FACTS } from './context.js';

/*
 * Policies: settings a database sets for its tenants and a tenant may override. Each setting is
 * a name with a schema; a value is checked against it at the door (PUT) and again when stored
 * values are read back (a value a newer or older server wrote that no longer fits is ignored).
 */

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const millis = z.number().int().min(0).max(365 * 24 * 3600 * 1000);

export const SETTING_SCHEMAS = {
  /** Rate-limit tier: a name of the server's tiers (VESPER_TIERS), `default` = the flat VESPER_RATE_LIMIT per second. */
  tier: NameSchema.describe("rate-limit tier: one of the server's tiers (free, pro, enterprise, default, or configured ones)"),
  /** Overrides the tier's number of requests per window; null = the tier's; 0 = unlimited. */
  requestsPerWindow: count.nullable().describe("requests per window of the tier; null = the tier's own number, 0 = unlimited"),
  overflow: z.enum(['reject', 'queue']).describe('above the limit: reject at once (429), or queue the request for up to queueMaxMs'),
  queueMaxMs: z.number().int().min(0).max(60_000).describe('longest a queued request waits for its turn before a 429'),
  maxFacts: count.describe('facts the tenant may hold (every scope); 0 = no limit'),
  maxBytes: count.describe('bytes of facts (keys and values) the tenant may hold; 0 = no limit'),
  maxBodyBytes: z.number().int().min(1024).max(1024 ** 3).describe('largest request body'),
  queryTimeoutMs: millis.describe('wall time of one query; 0 = no limit'),
  maxTuples: count.describe('tuples one query may produce; 0 = no limit'),
  maxRows: count.describe('stored facts one query may read; 0 = no limit'),
  eventRetentionDays: z.number().min(0).max(36_500).describe('events (audit, change stream) older than this are pruned; 0 = kept'),
  historyRetentionDays: z.number().min(0).max(36_500).describe('versions of facts (history, tombstones) older than this are pruned; reads asOf earlier lose them; 0 = kept forever'),
  sessionIdleMs: z.number().int().min(1000).max(365 * 24 * 3600 * 1000).describe('context sessions idle longer than this are forgotten'),
  contextMaxFacts: z.number().int().min(1).max(MAX_WINDOW_FACTS).describe('maxFacts of a context window when the request gives none'),
  transactionIdleSeconds: z.number().int().min(1).max(24 * 3600).describe('an open transaction unused for longer than this is rolled back'),
  maxOpenTransactions: z.number().int().min(1).max(10_000).describe('open transactions per tenant at once (429 TOO_MANY_TRANSACTIONS beyond)'),
  embeddingDimensions: z.number().int().min(1).max(4096).nullable().describe('database only: the length of every fact embedding; fixed once the database holds embedded facts'),
  hooksUrl: z.url({ protocol: /^https?$/ }).max(2048).nullable().describe("database only: where this database's lifecycle webhooks go (signed with the server's VESPER_HOOKS_SECRET); unset = the server's VESPER_HOOKS_URL"),
} as const;

export type SettingName = keyof typeof SETTING_SCHEMAS;
export type Settings = { readonly [K in SettingName]: z.output<(typeof SETTING_SCHEMAS)[K]> };

export const SETTING_NAMES = Object.keys(SETTING_SCHEMAS) as SettingName[];

/** Settings that only a database has (they describe its storage, not a tenant's use of it). */
export const DATABASE_ONLY: ReadonlySet<SettingName> = new Set(['embeddingDimensions', 'hooksUrl']);

/** Where an effective value came from. */
export type SettingSource = 'server' | 'database' | 'tenant';

/** A PUT body: any of the names; `null` removes the override (the value is inherited again). */
function changesOf(names: readonly SettingName[]) {
  return Object.fromEntries(names.map((name) => [name, SETTING_SCHEMAS[name].nullable().optional()])) as {
    [K in SettingName]: z.ZodOptional<z.ZodNullable<(typeof SETTING_SCHEMAS)[K]>>;
  };
}

export const DatabaseSettingsChanges = changesOf(SETTING_NAMES);
export const TenantSettingsChanges = changesOf(SETTING_NAMES.filter((name) => !DATABASE_ONLY.has(name)));

/** Changes as the service takes them: a value to set, or null to remove. */
export type SettingChanges = Partial<Record<SettingName, unknown>>;

const SettingView = z.object({ value: z.unknown(), source: z.enum(['server', 'database', 'tenant']) });
export const DatabaseSettingsReply = z.object({ database: z.string(), settings: z.record(z.string(), SettingView) });
export const TenantSettingsReply = DatabaseSettingsReply.extend({ tenant: z.string() });

export const UsageReply = z.object({
  database: z.string(),
  tenant: z.string().nullable(),
  days: z.array(
    z.object({
      tenant: z.string(),
      day: z.string().describe('UTC day, YYYY-MM-DD'),
      requests: z.record(z.string(), z.number().int()).describe('requests by operation (operationId)'),
      ruleEvalMs: z.number().describe('wall time of rule and join evaluation'),
      rowsRead: z.number().int().describe('stored facts read by queries'),
      facts: z.number().int().describe('facts stored, at the last count of the day'),
      bytes: z.number().int().describe('bytes of facts stored, at the last count of the day'),
    }),
  ),
});
