/**
 * Driver and server failures as abstract-level error codes, so the store above can tell "the
 * database is unreachable, retry elsewhere or later" from a bug, whatever the backend.
 */
export type PgLevelErrorCode = 'LEVEL_CONNECTION_LOST' | 'LEVEL_TRY_AGAIN' | 'LEVEL_STORAGE_FULL' | 'LEVEL_DATABASE_GONE' | 'LEVEL_REMOTE_ERROR';

export class PgLevelError extends Error {
  constructor(
    message: string,
    readonly code: PgLevelErrorCode,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'PgLevelError';
  }
}

/** postgres.js's own codes for a lost or refused connection, and the socket errors it passes on. */
const DRIVER_CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs that mean "not connected to a usable primary": class 08 (connection exception),
 * 57P01–57P03 (server shutting down, crashed, or starting), and 25006 (a read-only transaction:
 * the server we reached has become a standby, as after a failover).
 */
function isServerUnavailable(sqlState: string): boolean {
  return sqlState.startsWith('08') || ['57P01', '57P02', '57P03', '25006'].includes(sqlState);
}

/**
 * SQLSTATEs of a statement that failed as a whole and may succeed as is a moment later: a
 * serialization failure (40001: CockroachDB's answer to contention, PostgreSQL's under REPEATABLE
 * READ and SERIALIZABLE), a deadlock (40P01), a lock not granted (55P03), the server out of
 * connections (53300) or memory (53200).
 */
const TRY_AGAIN_STATES = new Set(['40001', '40P01', '55P03', '53300', '53200']);
/** disk_full: the server could not extend a file; nothing of the statement was written. */
const DISK_FULL = '53100';
/**
 * undefined_table: the table of a logical database is gone. Vesper never drops a table a process
 * still uses unless another process dropped the database (several processes on one PostgreSQL).
 */
const UNDEFINED_TABLE = '42P01';

export function toLevelError(error: unknown): Error {
  if (error instanceof PgLevelError || !(error instanceof Error)) return error instanceof Error ? error : new Error(String(error));
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  if (DRIVER_CONNECTION_CODES.has(code) || isServerUnavailable(code)) {
    return new PgLevelError(`PostgreSQL connection lost: ${error.message}`, 'LEVEL_CONNECTION_LOST', { cause: error });
  }
  if (error.name === 'PostgresError' && TRY_AGAIN_STATES.has(code)) {
    return new PgLevelError(`PostgreSQL asks to try again (${code}): ${error.message}`, 'LEVEL_TRY_AGAIN', { cause: error });
  }
  if (error.name === 'PostgresError' && code === DISK_FULL) {
    return new PgLevelError(`PostgreSQL is out of disk space (${code}): ${error.message}`, 'LEVEL_STORAGE_FULL', { cause: error });
  }
  if (error.name === 'PostgresError' && code === UNDEFINED_TABLE) {
    return new PgLevelError(`the database's table is gone (${code}): ${error.message}`, 'LEVEL_DATABASE_GONE', { cause: error });
  }
  if (error.name === 'PostgresError') {
    return new PgLevelError(`PostgreSQL error ${code}: ${error.message}`, 'LEVEL_REMOTE_ERROR', { cause: error });
  }
  return error;
}

/** Run one database round trip with its failure translated (see toLevelError). */
export async function remote<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toLevelError(error);
  }
}
