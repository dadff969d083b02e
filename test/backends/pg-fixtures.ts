import type { PgClient } from '../../src/store/backends/pg-client.js';

/** What `npm run pg:up` starts: the primary and its streaming replica on loopback. */
export const LOCAL_PG_URL = 'postgres://vesper@127.0.0.1:54321,127.0.0.1:54322/vesper';

/** Drop the tables a test run created (they all start with the run's own prefix). */
export async function dropTablesWithPrefix(client: PgClient, prefix: string): Promise<void> {
  const sql = client.sql;
  const tables = await sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND starts_with(table_name, ${prefix})`;
  for (const { table_name } of tables) await client.dropTable(table_name);
}
