import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { PgClient } from './pg-client.js';
import { remote } from './pg-errors.js';

/** What a limiter of one limit and window is made from (the keys of different limiters differ by keyPrefix). */
export interface LimiterOptions {
  readonly points: number;
  readonly duration: number;
  readonly keyPrefix: string;
}

/**
 * Request budgets kept in PostgreSQL, so every Vesper process on it spends the same budget of a
 * tenant: rate-limiter-flexible's RateLimiterPostgres over one table (an upsert per request). It
 * speaks node-postgres' `query({ text, values })`; `pool` below gives it that over the postgres.js
 * pool Vesper already has, rather than a second driver and pool.
 */
export class PgRateLimits {
  readonly table: string;
  private readonly pool: { query(q: { text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number }> };

  constructor(private readonly client: PgClient) {
    // Database tables end in _<12 hex digits> (PgClient.tableName): this name is none of them.
    this.table = `${client.tablePrefix}rate_limits`;
    this.pool = {
      query: (q) =>
        remote(async () => {
          // Safe: the values are rate-limiter-flexible's own query parameters (keys as strings, points
          // and times as numbers), all of which postgres.js serialises; its parameter type is generic
          // over the client's custom types, which this pool does not name.
          const rows = await client.sql.unsafe(q.text, (q.values ?? []) as never[]);
          return { rows: [...rows], rowCount: rows.count };
        }),
    };
  }

  /** Create the table (the limiters are told it exists: their own CREATE is not safe against a racing process). */
  async prepare(): Promise<void> {
    await remote(async () => {
      try {
        await this.client.sql`CREATE TABLE IF NOT EXISTS ${this.client.sql(this.table)} (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`;
      } catch (error) {
        if (!(await this.client.tableExists(this.table))) throw error;
      }
    });
  }

  readonly limiter = (options: LimiterOptions): RateLimiterPostgres =>
    new RateLimiterPostgres({ storeClient: this.pool, storeType: 'pool', tableName: this.table, tableCreated: true, ...options });
}
