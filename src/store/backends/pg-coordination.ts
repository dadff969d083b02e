import { createHash } from 'node:crypto';
import type { SharedCoordination } from '../storage-backend.js';
import type { PgClient, PgSql } from './pg-client.js';
import type { PgSession, PgSessions } from './pg-sessions.js';
import { remote } from './pg-errors.js';

/**
 * The tenant write lock of several Vesper processes on one PostgreSQL: a session advisory lock per
 * (database, tenant), held on a connection of its own from before the transaction's first read until
 * its batch is committed (a session of pg-sessions.ts). Not pg_advisory_xact_lock inside the batch: the batch is one statement at
 * the end, while the reads its checks rest on (contradictions, versions, the event counter) come
 * before it on other connections; the lock must cover them all. A process that dies loses its
 * connection, and PostgreSQL releases the lock with it. So does a connection that breaks while
 * the lock is held (a failover): the transaction's reads and batch fail with it unless the pool of
 * reads and writes reached a new primary meanwhile, in which case the batch runs unlocked (a
 * window of one reconnection, noted in the README). An import also holds an import lock per tenant
 * for its whole duration (pending-imports.ts), on another key, from another pool of sessions.
 */
export class PgCoordination implements SharedCoordination {
  constructor(private readonly client: PgClient) {}

  exclusive<T>(database: string, tenant: string, work: () => Promise<T>): Promise<T> {
    return holding(this.client.lockSessions, lockKey(database, tenant), () => work());
  }

  /**
   * An import holds its lock on a session of another pool for its whole duration: its own tenant
   * transactions take tenant locks meanwhile, and must not wait for the session it holds.
   */
  importing<T>(database: string, tenant: string, work: (held: () => boolean) => Promise<T>): Promise<T> {
    return holding(this.client.importSessions, lockKey(database, tenant, 'import'), (session) => work(() => !session.lost));
  }

  async unlessImporting(database: string, tenant: string, work: () => Promise<void>): Promise<boolean> {
    const key = lockKey(database, tenant, 'import');
    const sessions = this.client.importSessions;
    const session = await sessions.take();
    let reusable = false;
    try {
      const [row] = await remote(() => session.sql`SELECT pg_try_advisory_lock(${key}::bigint) AS locked`);
      if (row?.locked !== true) {
        reusable = true;
        return false;
      }
      try {
        await work();
      } finally {
        reusable = await unlock(session.sql, key);
      }
      return true;
    } finally {
      sessions.give(session, reusable);
    }
  }
}

async function holding<T>(sessions: PgSessions, key: string, work: (session: PgSession) => Promise<T>): Promise<T> {
  const session = await sessions.take();
  let reusable = false;
  try {
    await remote(() => session.sql`SELECT pg_advisory_lock(${key}::bigint)`);
    let settled: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      settled = { ok: true, value: await work(session) };
    } catch (error) {
      settled = { ok: false, error };
    }
    reusable = await unlock(session.sql, key);
    if (!settled.ok) throw settled.error;
    return settled.value;
  } finally {
    sessions.give(session, reusable);
  }
}

/**
 * Release the lock; true when the session can be lent again. The batch is committed (or failed)
 * whatever this does, so a failure is not the request's: a connection that died lost the lock with
 * its session (and reconnects on its own); one that refused the statement is ended by the caller,
 * so no session keeps a lock nobody will release.
 */
async function unlock(session: PgSql, key: string): Promise<boolean> {
  try {
    await session`SELECT pg_advisory_unlock(${key}::bigint)`;
    return true;
  } catch {
    return false;
  }
}

/** 64 bits of a digest of the names: a collision only makes two tenants wait for each other. Exported for tests (pg_locks). */
export function lockKey(database: string, tenant: string, purpose: 'write' | 'import' = 'write'): string {
  // The write lock's digest is as it always was: processes of an older version still agree on it.
  const hash = createHash('sha256').update(database).update('\0').update(tenant);
  const digest = (purpose === 'write' ? hash : hash.update('\0import')).digest();
  return digest.readBigInt64BE(0).toString();
}
