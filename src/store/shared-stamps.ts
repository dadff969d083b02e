import { randomBytes } from 'node:crypto';
import { DATABASE_INCARNATION_KEY } from '../encoding/control-keys.js';
import { type BatchOp, type LevelDb, type LevelSublevel, SYNC } from './level-types.js';

/** Distinct per process: two processes never write the same stamp. */
const PROCESS = randomBytes(6).toString('base64url');
let written = 0;

/**
 * A value no stamp of any process had before (see tenantStampKey): a process compares the stamp it
 * last saw with the stored one to learn whether another process committed since.
 */
export function nextStamp(): string {
  written++;
  return `${PROCESS}.${written.toString(36)}`;
}

/**
 * The storage's incarnation (shared storage), written with a new database stamp by the first
 * process to open it. Two processes opening new storage at once may both write one: the later
 * wins, and the other finds the stamp and the id changed at its next request and opens the
 * database again.
 */
export async function learnIncarnation(db: LevelDb, meta: LevelSublevel, stampOps: readonly BatchOp[]): Promise<string> {
  const known = await meta.get(DATABASE_INCARNATION_KEY);
  if (known !== undefined) return known;
  const incarnation = randomBytes(12).toString('base64url');
  await db.batch([{ type: 'put', key: DATABASE_INCARNATION_KEY, value: incarnation, sublevel: meta }, ...stampOps], SYNC);
  return incarnation;
}
