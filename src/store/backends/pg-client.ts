import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { PgSessions } from './pg-sessions.js';

/** A postgres.js client (porsager/postgres): tagged-template queries over a bounded pool. */
export type PgSql = postgres.Sql;
/** One connection taken out of a pool, held by an explicit snapshot until it closes. */
export type PgReserved = postgres.ReservedSql;

export interface PgClientOptions {
  /** postgres://user@host1:port1,host2:port2/database — with several hosts the primary is found automatically. */
  readonly url: string;
  /** Connections shared by every PostgresLevel for reads and writes. */
  readonly poolSize?: number;
  /** Connections reserved for explicit snapshots: one per open snapshot; opening more waits for one to close. */
  readonly snapshotPoolSize?: number;
  /** Connections for tenant write locks: tenants written at once by this process (more wait for one). Default: poolSize. */
  readonly lockPoolSize?: number;
  /** Table names are this prefix + the database name made safe + a digest of the exact name. */
  readonly tablePrefix?: string;
  readonly connectTimeoutSeconds?: number;
  /**
   * false: a commit returns before its WAL is flushed (the server's WAL writer flushes it within
   * about 3 × wal_writer_delay); a crash of the server, not of Vesper, can lose that window. Default true.
   */
  readonly synchronousCommit?: boolean;
}

/** Which engine speaks the protocol: the SQL is the same, only the primary key's sharding clause differs. */
export type PgFlavour = 'postgresql' | 'cockroachdb' | 'yugabytedb';

const TABLE_PREFIX = /^[a-z_][a-z0-9_]{0,15}$/;

/**
 * The connections behind every PostgresLevel of one process: a pool for reads and writes, and
 * sessions of one connection each for explicit snapshots and tenant write locks (pg-sessions.ts).
 * The owner ends it after closing the databases.
 */
export class PgClient {
  readonly sql: PgSql;
  /** Sessions holding tenant write locks (pg-coordination.ts): one per tenant transaction in flight in this process. */
  readonly lockSessions: PgSessions;
  /** Sessions holding import locks (pg-coordination.ts): one per import in flight in this process, and brief ones to check for them. */
  readonly importSessions: PgSessions;
  /** Sessions holding explicit snapshots (pg-snapshot.ts): one per open snapshot. */
  readonly snapshotSessions: PgSessions;
  readonly tablePrefix: string;
  private flavourProbe: Promise<PgFlavour> | undefined;

  constructor(options: PgClientOptions) {
    this.tablePrefix = options.tablePrefix ?? 'vesper_';
    if (!TABLE_PREFIX.test(this.tablePrefix)) throw new TypeError(`table prefix '${this.tablePrefix}' must match ${TABLE_PREFIX}`);
    const common = {
      // Several hosts: connect only to the one that accepts writes, so a promoted replica is found after failover.
      target_session_attrs: 'primary' as const,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 60,
      // CREATE TABLE IF NOT EXISTS sends a NOTICE; stdout belongs to the JSON log (and to MCP over stdio).
      onnotice: () => {},
      connection: options.synchronousCommit === false ? { application_name: 'vesper', synchronous_commit: 'off' } : { application_name: 'vesper' },
    };
    this.sql = postgres(options.url, { ...common, max: options.poolSize ?? 10 });
    const session = (onclose: () => void) => postgres(options.url, { ...common, max: 1, onclose });
    // Snapshots hold their session until they close; separate sessions, so they cannot starve ordinary queries.
    this.snapshotSessions = new PgSessions(session, options.snapshotPoolSize ?? 8);
    // A transaction holding a lock also needs the main pool to read: as many as it by default.
    this.lockSessions = new PgSessions(session, options.lockPoolSize ?? options.poolSize ?? 10);
    // Imports are rare: a few at once, each holding its session from its first line to its last.
    this.importSessions = new PgSessions(session, 4);
  }

  /** A table name for a logical database: readable, at most 63 bytes, and distinct for distinct names (case and punctuation included). */
  tableName(database: string): string {
    const readable = database.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 32);
    const digest = createHash('sha256').update(database).digest('hex').slice(0, 12);
    return `${this.tablePrefix}${readable}_${digest}`;
  }

  async tableExists(table: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${table}`;
    return rows.length > 0;
  }

  /** Create the table of one logical database; racing creators (several processes) both succeed. */
  async createTable(table: string): Promise<void> {
    // YugabyteDB hash-shards the first key column unless told ASC; PostgreSQL rejects ASC in a key
    // constraint; CockroachDB range-shards either way.
    const key = (await this.flavour()) === 'yugabytedb' ? this.sql`PRIMARY KEY (k ASC)` : this.sql`PRIMARY KEY (k)`;
    try {
      await this.sql`CREATE TABLE IF NOT EXISTS ${this.sql(table)} (k bytea NOT NULL, v bytea NOT NULL, ${key})`;
    } catch (error) {
      // PostgreSQL's IF NOT EXISTS is not atomic against a concurrent CREATE: the loser sees a unique violation.
      if (!(await this.tableExists(table))) throw error;
    }
  }

  async dropTable(table: string): Promise<void> {
    await this.sql`DROP TABLE IF EXISTS ${this.sql(table)}`;
  }

  flavour(): Promise<PgFlavour> {
    this.flavourProbe ??= this.sql`SELECT version() AS version`.then(([row]) => {
      const version = String(row?.version ?? '');
      if (version.includes('CockroachDB')) return 'cockroachdb';
      if (version.includes('-YB-')) return 'yugabytedb';
      return 'postgresql';
    });
    // A failed probe (server down) is retried by the next caller rather than remembered.
    this.flavourProbe.catch(() => (this.flavourProbe = undefined));
    return this.flavourProbe;
  }

  async end(): Promise<void> {
    await Promise.all([this.sql.end({ timeout: 5 }), this.snapshotSessions.end(), this.lockSessions.end(), this.importSessions.end()]);
  }
}
