import { z } from 'zod';
import { outboxKey, outboxRange } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { type LevelDb, SYNC } from './level-types.js';

/** A webhook delivery waiting for its receiver's 2xx: written before anything is sent, removed after. */
export interface OutboxRecord {
  /** Time-ordered and unique: the receiver's de-duplication key (at-least-once delivery). */
  readonly id: string;
  readonly type: string;
  readonly time: number;
  readonly data: Readonly<Record<string, unknown>>;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  /** Where it goes: the URL in force for its database when it was recorded (absent in records of older servers: the server's URL). */
  readonly url?: string;
}

const outboxShape: z.ZodType<OutboxRecord> = z.looseObject({
  id: z.string(),
  type: z.string(),
  time: z.number(),
  data: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  nextAttemptAt: z.number(),
  lastError: z.string().nullable(),
  url: z.string().optional(),
});

/** The outbox of lifecycle webhooks, in the system database: it survives restarts, in id (creation) order. */
export class Outbox {
  constructor(private readonly db: LevelDb) {}

  async put(record: OutboxRecord): Promise<void> {
    await this.db.put(outboxKey(record.id), encodeJson(record), SYNC);
  }

  async remove(id: string): Promise<void> {
    await this.db.del(outboxKey(id), SYNC);
  }

  /** Every pending delivery, oldest first. */
  async pending(): Promise<OutboxRecord[]> {
    const records: OutboxRecord[] = [];
    for await (const [key, value] of this.db.iterator(outboxRange())) records.push(decodeJson(value, outboxShape, 'webhook delivery', key));
    return records;
  }
}
