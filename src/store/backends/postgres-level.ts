import { AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level';
import type { PgClient, PgSql } from './pg-client.js';
import { PgLevelError, remote } from './pg-errors.js';
import { PgEntryIterator, type PgIteratorOptions, PgKeyIterator, type PgReadSource, PgValueIterator } from './pg-iterator.js';
import { type KeyRange, keyOrder, pickRange, rangeCondition } from './pg-range.js';
import { PgSnapshot } from './pg-snapshot.js';

type BatchOperation = { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer } | { readonly type: 'del'; readonly key: Buffer };

interface ReadOptions {
  readonly snapshot?: PgSnapshot;
}

interface OpenOptions {
  readonly createIfMissing: boolean;
  readonly errorIfExists: boolean;
}

interface ClearOptions extends KeyRange {
  readonly reverse: boolean;
  readonly limit: number;
  readonly snapshot?: PgSnapshot;
}

/** The OID of bytea: sql.array(buffers, BYTEA) sends a bytea[] (postgres.js maps it to the array type). */
const BYTEA = 17;
/** Rows deleted per statement by clear(): a bounded transaction (CockroachDB limits their size). */
const CLEAR_PAGE = 10_000;

/**
 * An abstract-level database over one PostgreSQL table (k bytea primary key, v bytea) per logical
 * database. bytea orders exactly like Buffer.compare, so ranges and iterators behave as on LevelDB.
 * A batch is one statement, hence one transaction (a DELETE and an INSERT … ON CONFLICT over
 * unnest()ed arrays, whatever its size); every acknowledged write is committed (as durable as the
 * server's synchronous_commit makes it). Iterators page by key (see pg-iterator.ts); explicit
 * snapshots are REPEATABLE READ transactions (see pg-snapshot.ts). Only SQL that CockroachDB and
 * YugabyteDB also accept (README, "PostgreSQL backend").
 */
export class PostgresLevel<K = string, V = string> extends AbstractLevel<Buffer, K, V> implements PgReadSource {
  readonly table: string;
  private readonly client: PgClient;
  /** Snapshots whose transaction has not yet taken its view; writes issued after them wait (see writeBarrier). */
  private readonly snapshotsOpening = new Set<Promise<unknown>>();

  constructor(client: PgClient, database: string, options?: AbstractDatabaseOptions<K, V>) {
    super(
      {
        encodings: { buffer: true },
        seek: true,
        has: true,
        implicitSnapshots: false,
        explicitSnapshots: true,
        permanence: true,
        createIfMissing: true,
        errorIfExists: true,
        signals: { iterators: false },
      },
      options,
    );
    this.client = client;
    this.table = client.tableName(database);
  }

  get sql(): PgSql {
    return this.client.sql;
  }

  _open(options: OpenOptions): Promise<void> {
    return remote(async () => {
      const exists = await this.client.tableExists(this.table);
      if (exists && options.errorIfExists) throw new Error(`table ${this.table} already exists`);
      if (!exists) {
        if (!options.createIfMissing) throw new PgLevelError(`table ${this.table} does not exist`, 'LEVEL_DATABASE_GONE', { cause: null });
        await this.client.createTable(this.table);
      }
    });
  }

  connectionFor(snapshot: PgSnapshot | undefined): Promise<PgSql> {
    return snapshot ? snapshot.connection() : Promise.resolve(this.client.sql);
  }

  _get(key: Buffer, options: ReadOptions): Promise<Buffer | undefined> {
    return remote(async () => {
      const sql = await this.connectionFor(options.snapshot);
      const rows = await sql<{ v: Buffer }[]>`SELECT v FROM ${sql(this.table)} WHERE k = ${key}`;
      return rows[0]?.v;
    });
  }

  _getMany(keys: Buffer[], options: ReadOptions): Promise<(Buffer | undefined)[]> {
    return remote(async () => {
      const found = await this.fetchMany(keys, options, true);
      return keys.map((key) => found.get(key.toString('latin1')));
    });
  }

  _has(key: Buffer, options: ReadOptions): Promise<boolean> {
    return remote(async () => {
      const sql = await this.connectionFor(options.snapshot);
      return (await sql`SELECT 1 FROM ${sql(this.table)} WHERE k = ${key}`).length > 0;
    });
  }

  _hasMany(keys: Buffer[], options: ReadOptions): Promise<boolean[]> {
    return remote(async () => {
      const found = await this.fetchMany(keys, options, false);
      return keys.map((key) => found.has(key.toString('latin1')));
    });
  }

  /** The rows of some keys in one statement, by key bytes (latin1 maps each byte to one char). */
  private async fetchMany(keys: Buffer[], options: ReadOptions, withValues: boolean): Promise<Map<string, Buffer>> {
    const sql = await this.connectionFor(options.snapshot);
    const columns = withValues ? sql`k, v` : sql`k, k AS v`;
    const rows = await sql<{ k: Buffer; v: Buffer }[]>`SELECT ${columns} FROM ${sql(this.table)} WHERE k = ANY(${sql.array(keys, BYTEA)}::bytea[])`;
    return new Map(rows.map((row) => [row.k.toString('latin1'), row.v]));
  }

  _put(key: Buffer, value: Buffer): Promise<void> {
    return remote(async () => {
      await this.writeBarrier();
      const sql = this.client.sql;
      await sql`INSERT INTO ${sql(this.table)} (k, v) VALUES (${key}, ${value}) ON CONFLICT (k) DO UPDATE SET v = excluded.v`;
    });
  }

  _del(key: Buffer): Promise<void> {
    return remote(async () => {
      await this.writeBarrier();
      const sql = this.client.sql;
      await sql`DELETE FROM ${sql(this.table)} WHERE k = ${key}`;
    });
  }

  _batch(operations: BatchOperation[]): Promise<void> {
    return remote(async () => {
      // The last operation on a key wins, as in LevelDB; one INSERT … ON CONFLICT may not touch a row twice.
      const last = new Map<string, BatchOperation>();
      for (const op of operations) last.set(op.key.toString('latin1'), op);
      const puts: { key: Buffer; value: Buffer }[] = [];
      const dels: Buffer[] = [];
      for (const op of last.values()) {
        if (op.type === 'put') puts.push(op);
        else dels.push(op.key);
      }
      await this.writeBarrier();
      const sql = this.client.sql;
      const table = sql(this.table);
      const deleted = sql.array(dels, BYTEA);
      const keys = sql.array(puts.map((p) => p.key), BYTEA);
      const values = sql.array(puts.map((p) => p.value), BYTEA);
      // One statement is one transaction without BEGIN/COMMIT round trips (and without postgres.js's
      // sql.begin(), whose BEGIN can escape its reserved connection at the pipeline boundary, porsager/postgres#1189).
      // The deleted and the written keys are disjoint after the dedup above, so the order inside does not matter.
      await sql`WITH deleted AS (DELETE FROM ${table} WHERE k = ANY(${deleted}::bytea[]))
        INSERT INTO ${table} (k, v) SELECT * FROM unnest(${keys}::bytea[], ${values}::bytea[]) ON CONFLICT (k) DO UPDATE SET v = excluded.v`;
    });
  }

  /** Not atomic (abstract-level allows it): bounded DELETE statements until the range is empty or the limit reached. */
  _clear(options: ClearOptions): Promise<void> {
    return remote(async () => {
      await this.writeBarrier();
      if (options.snapshot) return this.clearSeenBy(options);
      const sql = this.client.sql;
      const where = rangeCondition(sql, pickRange(options));
      const order = keyOrder(sql, options.reverse);
      let remaining = options.limit === -1 ? Infinity : options.limit;
      while (remaining > 0) {
        const page = Math.min(remaining, CLEAR_PAGE);
        const result = await sql`DELETE FROM ${sql(this.table)} WHERE k IN (SELECT k FROM ${sql(this.table)} WHERE ${where} ${order} LIMIT ${page})`;
        remaining -= result.count;
        if (result.count < page) return;
      }
    });
  }

  /** clear() with a snapshot deletes the keys the snapshot sees in the range (and not keys written since). */
  private async clearSeenBy(options: ClearOptions): Promise<void> {
    const keys = this.keys({ ...options, keyEncoding: 'buffer' });
    try {
      for (;;) {
        const page = await keys.nextv(CLEAR_PAGE);
        if (page.length === 0) return;
        const sql = this.client.sql;
        await sql`DELETE FROM ${sql(this.table)} WHERE k = ANY(${sql.array(page, BYTEA)}::bytea[])`;
      }
    } finally {
      await keys.close();
    }
  }

  _iterator(options: PgIteratorOptions): PgEntryIterator {
    return new PgEntryIterator(this, options);
  }

  _keys(options: PgIteratorOptions): PgKeyIterator {
    return new PgKeyIterator(this, options);
  }

  _values(options: PgIteratorOptions): PgValueIterator {
    return new PgValueIterator(this, options);
  }

  /** `owner` is the database (or sublevel) that closes the snapshot when it closes. */
  _snapshot(options: { readonly owner: object }): PgSnapshot {
    const snapshot = new PgSnapshot(this.client.snapshotSessions, options);
    const opening = snapshot.ready.catch(() => {});
    this.snapshotsOpening.add(opening);
    void opening.then(() => this.snapshotsOpening.delete(opening));
    return snapshot;
  }

  /** A write waits for the snapshots requested before it to take their view, so they never see it. */
  private async writeBarrier(): Promise<void> {
    if (this.snapshotsOpening.size > 0) await Promise.all(this.snapshotsOpening);
  }
}
