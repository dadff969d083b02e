import { createHash } from 'node:crypto';
import type { SharedCoordination } from '../storage-backend.js';
import type { PgClient } from './pg-client.js';
import { remote } from './pg-errors.js';

/**
 * The tenant write lock of several Vesper processes on one PostgreSQL: a session advisory lock per
 * (database, tenant), held on a connection of its own from before the transaction's first read until
 * its batch is committed. Not pg_advisory_xact_lock inside the batch: the batch is one statement at
 * the end, while the reads its checks rest on (contradictions, versions, the event counter) come
 * before it on other connections; the lock must cover them all. A process that dies loses its
 * connection, and PostgreSQL releases the lock with it.
 */
export class PgCoordination implements SharedCoordination {
  constructor(private readonly client: PgClient) {}

  exclusive<T>(database: string, tenant: string, work: () => Promise<T>): Promise<T> {
    return this.client.withLockConnection(async (connection) => {
      const key = lockKey(database, tenant);
      const [row] = await remote(() => connection<{ pid: number }[]>`SELECT pg_advisory_lock(${key}::bigint), pg_backend_pid() AS pid`);
      try {
        return await work();
      } finally {
        // The batch is committed (or failed) whatever the unlock does: an unlock that fails must not
        // turn an acknowledged write into an error. A broken connection has lost the lock with its
        // session; one that merely refused the statement is ended, so the pool never keeps the lock.
        await connection`SELECT pg_advisory_unlock(${key}::bigint)`.catch(() =>
          this.client.sql`SELECT pg_terminate_backend(${row?.pid ?? 0})`.catch(() => undefined),
        );
      }
    });
  }
}

/** 64 bits of a digest of the names: a collision only makes two tenants wait for each other. */
function lockKey(database: string, tenant: string): string {
  const digest = createHash('sha256').update(database).update('\0').update(tenant).digest();
  return digest.readBigInt64BE(0).toString();
}
