import { createHash } from 'node:crypto';
import postgres from 'postgres';

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
 * The connection pools behind every PostgresLevel of one process: one for reads and writes, one for
 * explicit snapshots (a REPEATABLE READ transaction holds its connection until the snapshot closes,
 * so snapshots cannot starve ordinary queries). The owner ends it after closing the databases.
 */
export class PgClient {
  readonly sql: PgSql;
  readonly snapshotSql: PgSql;
  /**
   * Clients of one connection each for tenant write locks (pg-coordination.ts), made on demand up
   * to `lockLimit`; a free one is lent to one transaction at a time. Not reserve()d connections of
   * a pool: postgres.js 3.4.9 throws an uncatchable TypeError when a query is written on a reserved
   * connection whose server died (porsager/postgres#1208), which a failover does to every lock
   * holder. A client of one connection instead reconnects, and its session lost the lock with the
   * old connection.
   */
  private readonly lockClients: PgSql[] = [];
  private readonly freeLockClients: PgSql[] = [];
  private readonly lockWaiters: Array<(client: PgSql) => void> = [];
  private readonly lockLimit: number;
  private readonly makeLockClient: () => PgSql;
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
    this.snapshotSql = postgres(options.url, { ...common, max: options.snapshotPoolSize ?? 8 });
    // Separate from the pool of reads and writes: a transaction holds a lock connection while it
    // reads and writes on the other pool, so sharing one pool could leave none for its reads.
    // As many as the main pool by default: a transaction holding a lock also needs that pool to read.
    this.lockLimit = options.lockPoolSize ?? options.poolSize ?? 10;
    this.makeLockClient = () => postgres(options.url, { ...common, max: 1 });
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

  /**
   * Run `work` with a lock client lent to it alone until it settles (its one connection is the
   * session that holds the lock). `work` returns false when the client must not be lent again (an
   * unlock failed on a live connection): it is ended and replaced.
   */
  async withLockConnection<T>(work: (client: PgSql) => Promise<{ result: T; reusable: boolean }>): Promise<T> {
    const client = await this.takeLockClient();
    let reusable = false;
    try {
      const outcome = await work(client);
      reusable = outcome.reusable;
      return outcome.result;
    } finally {
      if (reusable) this.giveLockClient(client);
      else this.replaceLockClient(client);
    }
  }

  private takeLockClient(): Promise<PgSql> {
    const free = this.freeLockClients.pop();
    if (free) return Promise.resolve(free);
    if (this.lockClients.length < this.lockLimit) {
      const client = this.makeLockClient();
      this.lockClients.push(client);
      return Promise.resolve(client);
    }
    return new Promise((resolve) => this.lockWaiters.push(resolve));
  }

  private giveLockClient(client: PgSql): void {
    const waiter = this.lockWaiters.shift();
    if (waiter) waiter(client);
    else this.freeLockClients.push(client);
  }

  private replaceLockClient(client: PgSql): void {
    const index = this.lockClients.indexOf(client);
    if (index >= 0) this.lockClients.splice(index, 1);
    void client.end({ timeout: 1 }).catch(() => undefined);
    const waiter = this.lockWaiters.shift();
    if (waiter) {
      const fresh = this.makeLockClient();
      this.lockClients.push(fresh);
      waiter(fresh);
    }
  }

  async end(): Promise<void> {
    await Promise.all([this.sql.end({ timeout: 5 }), this.snapshotSql.end({ timeout: 5 }), ...this.lockClients.map((client) => client.end({ timeout: 5 }))]);
  }
}
