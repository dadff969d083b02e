import type { LevelDb } from '../level-types.js';
import type { StorageBackend } from '../storage-backend.js';
import type { PgClient } from './pg-client.js';
import { PgCoordination } from './pg-coordination.js';
import { remote } from './pg-errors.js';
import { PostgresLevel } from './postgres-level.js';

/**
 * The catalogue's databases as tables of one PostgreSQL database (PgClient.tableName: the prefix,
 * the name made safe, a digest of the exact name). The system database is a table like the others.
 */
export class PgStorage implements StorageBackend {
  /** Any number of Vesper processes may use the same tables: tenant write locks are PostgreSQL's. */
  readonly coordination: PgCoordination;

  constructor(private readonly client: PgClient) {
    this.coordination = new PgCoordination(client);
  }

  level(name: string): LevelDb {
    return new PostgresLevel<string, string>(this.client, name);
  }

  /** DROP TABLE IF EXISTS: idempotent, and atomic on the server (a crash leaves the table or nothing). */
  remove(name: string): Promise<void> {
    return remote(() => this.client.dropTable(this.client.tableName(name)));
  }

  /**
   * Nothing tells a client how much room the server's disk has. A write refused for a full disk
   * left nothing behind (the statement failed whole, no sticky state), so trying again is always
   * safe: the catalogue reopens the database and the next write either succeeds or says 507 again.
   */
  async hasRoom(): Promise<boolean> {
    return true;
  }
}
