import { randomBytes } from 'node:crypto';

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
