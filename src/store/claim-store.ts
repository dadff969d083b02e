import { z } from 'zod';
import { claimKey } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { type LevelDb, SYNC } from './level-types.js';

/** A claim token as stored: never its secret, only an HMAC of it; `usedAt` once it turned a sandbox into a tenant. */
export interface ClaimRecord {
  readonly id: string;
  readonly hash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

const claimShape: z.ZodType<ClaimRecord> = z.looseObject({
  id: z.string(),
  hash: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  usedAt: z.number().nullable(),
});

/**
 * Claim tokens in the system database. A used token is kept (marked) rather than deleted, so that
 * its reuse is told apart from an unknown token (403, not 404).
 */
export class ClaimStore {
  constructor(private readonly db: LevelDb) {}

  async get(id: string): Promise<ClaimRecord | undefined> {
    const value = await this.db.get(claimKey(id));
    return value === undefined ? undefined : decodeJson(value, claimShape, 'claim token');
  }

  async put(record: ClaimRecord): Promise<void> {
    await this.db.put(claimKey(record.id), encodeJson(record), SYNC);
  }
}
