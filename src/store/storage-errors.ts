import { statfs } from 'node:fs/promises';
import { NotFoundError, StorageFullError, StorageUnavailableError, type VesperError } from '../domain/errors.js';

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

/** Code of DatabaseReplacedError: the database was dropped and created again by another process. */
export const DATABASE_REPLACED = 'DATABASE_REPLACED';

/**
 * Shared storage (several processes): the storage of an open database was dropped by another
 * process (PostgreSQL's undefined_table, backends/pg-errors.ts), or dropped and created again
 * (DatabaseReplacedError). The catalogue then forgets its handle and looks the name up again.
 */
export function isDatabaseGone(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'LEVEL_DATABASE_GONE' || code === DATABASE_REPLACED) return true;
  }
  return false;
}

/** See isDatabaseGone: thrown when the database's incarnation changed under an open handle. */
export class DatabaseReplacedError extends Error {
  readonly code = DATABASE_REPLACED;
  constructor(readonly database: string) {
    super(`database '${database}' was dropped and created again by another process`);
    this.name = 'DatabaseReplacedError';
  }
}

/**
 * A storage failure that reached a transport untyped (a read, a background-free write path) as
 * the typed error a client can act on: 503 + Retry-After, or 507. Null for anything else (a bug).
 */
export function storageFailureOf(error: unknown): VesperError | null {
  const reason = unavailableReason(error);
  if (reason !== null) return new StorageUnavailableError(reason, { cause: error });
  if (isStorageFull(error)) return new StorageFullError('(storage)', { cause: error });
  // A request already past the catalogue when another process dropped its database: as if it came after.
  if (isDatabaseGone(error)) return new NotFoundError('the database was deleted while this request ran', { state: 'dropped' });
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
