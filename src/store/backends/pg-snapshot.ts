import { AbstractSnapshot } from 'abstract-level';
import type { PgReserved, PgSql } from './pg-client.js';
import { remote } from './pg-errors.js';

// abstract-level's typings omit the constructor's argument ({ owner }, see abstract-snapshot.js);
// a constructor taking fewer parameters is assignable to one taking more, so no cast is needed.
const SnapshotBase: new (options: { readonly owner: object }) => AbstractSnapshot = AbstractSnapshot;

/**
 * An explicit snapshot: a REPEATABLE READ, READ ONLY transaction on a connection of its own, held
 * until close(). PostgreSQL fixes the transaction's snapshot at its first statement, which is
 * asynchronous; the database therefore holds writes issued after snapshot() until `ready` settles
 * (see PostgresLevel.writeBarrier), which gives abstract-level's "created synchronously" contract
 * for everything this process does. Snapshots do not share transactions: one requested while
 * another's view is being taken could land on a view older than a write (of another process, say)
 * that finished before the request, by up to one round trip.
 */
export class PgSnapshot extends SnapshotBase {
  readonly ready: Promise<PgReserved>;

  constructor(pool: PgSql, options: { readonly owner: object }) {
    super(options);
    this.ready = PgSnapshot.begin(pool);
    // A failure surfaces on the reads that use the snapshot; it must not be an unhandled rejection here.
    this.ready.catch(() => {});
  }

  private static begin(pool: PgSql): Promise<PgReserved> {
    return remote(async () => {
      const connection = await pool.reserve();
      try {
        await connection`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
        await connection`SELECT 1`;
        return connection;
      } catch (error) {
        connection.release();
        throw error;
      }
    });
  }

  /** The connection to read on (abstract-level does not call _close while reads are in flight). */
  connection(): Promise<PgSql> {
    return this.ready;
  }

  async _close(): Promise<void> {
    const connection = await this.ready.catch(() => undefined);
    if (!connection) return;
    try {
      await connection`ROLLBACK`;
    } finally {
      connection.release();
    }
  }
}
