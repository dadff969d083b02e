import { statfs } from 'node:fs/promises';
import { StorageFullError, StorageUnavailableError, type VesperError } from '../domain/errors.js';

/**
 * LevelDB reports a full disk as an IO error whose message carries strerror(ENOSPC) (classic-level
 * gives no errno); node's fs gives code ENOSPC. EDQUOT (quota exceeded) is the same for a writer.
 * A remote backend says LEVEL_STORAGE_FULL (PostgreSQL's disk_full, backends/pg-errors.ts).
 */
export function isStorageFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'LEVEL_STORAGE_FULL') return true;
    if (/No space left on device|Disk quota exceeded/i.test(e.message)) return true;
  }
  return false;
}

/**
 * A remote backend's "not now": the connection to its server is lost (or reached a standby), or the
 * server refused the statement for a reason that passes (a conflict, no connection free). See
 * backends/pg-errors.ts; abstract-level wraps open failures, hence the walk down the causes.
 */
export function unavailableReason(error: unknown): 'connection' | 'try-again' | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'LEVEL_CONNECTION_LOST') return 'connection';
    if (code === 'LEVEL_TRY_AGAIN') return 'try-again';
  }
  return null;
}

/**
 * A storage failure that reached a transport untyped (a read, a background-free write path) as
 * the typed error a client can act on: 503 + Retry-After, or 507. Null for anything else (a bug).
 */
export function storageFailureOf(error: unknown): VesperError | null {
  const reason = unavailableReason(error);
  if (reason !== null) return new StorageUnavailableError(reason, { cause: error });
  if (isStorageFull(error)) return new StorageFullError('(storage)', { cause: error });
  return null;
}

/** LevelDB (EMFILE in its message) or node (code EMFILE/ENFILE) out of file descriptors. */
export function isOutOfDescriptors(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EMFILE' || code === 'ENFILE') return true;
    if (/Too many open files/i.test(e.message)) return true;
  }
  return false;
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}
