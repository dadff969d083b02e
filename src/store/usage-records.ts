import { z } from 'zod';
import { decodeUsageKey, usageKey, usageRange } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { type BatchOp, type KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';

/** A tenant's usage over one UTC day: counters added up, and the stored totals last seen that day. */
export interface UsageRecord {
  readonly requests: Readonly<Record<string, number>>;
  readonly ruleEvalMs: number;
  readonly rowsRead: number;
  readonly facts: number;
  readonly bytes: number;
}

const usageShape: z.ZodType<UsageRecord> = z.looseObject({
  requests: z.record(z.string(), z.number()),
  ruleEvalMs: z.number(),
  rowsRead: z.number(),
  facts: z.number(),
  bytes: z.number(),
});

export async function loadUsage(meta: KeyspaceReader, tenant: string, day: string): Promise<UsageRecord | null> {
  const key = usageKey(tenant, day);
  const raw = await meta.get(key);
  return raw === undefined ? null : decodeJson(raw, usageShape, 'usage', key);
}

/** Every day of every tenant (or of one), in tenant then day order. */
export async function* scanUsage(meta: KeyspaceReader, tenant?: string): AsyncGenerator<{ tenant: string; day: string; usage: UsageRecord }> {
  for await (const [key, value] of scanRange(meta, usageRange(tenant))) yield { ...decodeUsageKey(key), usage: decodeJson(value, usageShape, 'usage', key) };
}

export function putUsageOp(meta: LevelSublevel, tenant: string, day: string, usage: UsageRecord): BatchOp {
  return { type: 'put', key: usageKey(tenant, day), value: encodeJson(usage), sublevel: meta };
}
