import { AbstractSnapshot } from 'abstract-level';
import type { PgSql } from './pg-client.js';
import { remote } from './pg-errors.js';
import type { PgSession, PgSessions } from './pg-sessions.js';

// abstract-level's typings omit the constructor's argument ({ owner }, see abstract-snapshot.js);
// a constructor taking fewer parameters is assignable to one taking more, so no cast is needed.
const SnapshotBase: new (options: { readonly owner: object }) => AbstractSnapshot = AbstractSnapshot;

/**
 * An explicit snapshot: a REPEATABLE READ, READ ONLY transaction on a session of its own
 * (pg-sessions.ts), held until close(). Once the session's connection is lost (a failover), reads
 * fail with LEVEL_CONNECTION_LOST rather than run outside the transaction on a new connection. PostgreSQL fixes the transaction's snapshot at its first statement, which is
 * asynchronous; the database therefore holds writes issued after snapshot() until `ready` settles
 * (see PostgresLevel.writeBarrier), which gives abstract-level's "created synchronously" contract
 * for everything this process does. Snapshots do not share transactions: one requested while
 * another's view is being taken could land on a view older than a write (of another process, say)
 * that finished before the request, by up to one round trip.
 */
export class PgSnapshot extends SnapshotBase {
  readonly ready: Promise<PgSession>;

  constructor(
    private readonly sessions: PgSessions,
    options: { readonly owner: object },
  ) {
    super(options);
    this.ready = PgSnapshot.begin(sessions);
    // A failure surfaces on the reads that use the snapshot; it must not be an unhandled rejection here.
    this.ready.catch(() => {});
  }

  private static begin(sessions: PgSessions): Promise<PgSession> {
    return remote(async () => {
      const session = await sessions.take();
      try {
        await session.sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
        await session.sql`SELECT 1`;
        if (session.lost) throw lostError();
        return session;
      } catch (error) {
        // It may be inside a transaction now: not lent again.
        sessions.give(session, false);
        throw error;
      }
    });
  }

  /** The connection to read on (abstract-level does not call _close while reads are in flight). */
  async connection(): Promise<PgSql> {
    const session = await this.ready;
    if (session.lost) throw lostError();
    return session.sql;
  }

  async _close(): Promise<void> {
    const session = await this.ready.catch(() => undefined);
    if (!session) return;
    let reusable = true;
    try {
      // A lost session holds no transaction any more (its new connection, if any, never began one).
      if (!session.lost) await session.sql`ROLLBACK`;
    } catch {
      reusable = false;
    } finally {
      this.sessions.give(session, reusable);
    }
  }
}

/** What postgres.js rejects a query with on a closed connection: pg-errors.ts makes it LEVEL_CONNECTION_LOST. */
function lostError(): Error {
  return Object.assign(new Error('the snapshot\'s connection was lost'), { code: 'CONNECTION_CLOSED' });
}
