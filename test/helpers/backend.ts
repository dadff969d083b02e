// Which storage backend the test servers run on: LevelDB (the default), or PostgreSQL with
// VESPER_TEST_BACKEND=postgres and VESPER_TEST_PG_URL (`npm run test:pg` sets both).
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { PgClient } from '../../src/store/backends/pg-client.js';
import { PostgresLevel } from '../../src/store/backends/postgres-level.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { dropTablesWithPrefix } from '../backends/pg-fixtures.js';

export type TestBackend = 'leveldb' | 'postgres';

export const TEST_BACKEND: TestBackend = process.env.VESPER_TEST_BACKEND === 'postgres' ? 'postgres' : 'leveldb';
export const TEST_PG_URL: string | undefined = process.env.VESPER_TEST_PG_URL || undefined;

if (TEST_BACKEND === 'postgres' && TEST_PG_URL === undefined) {
  throw new Error('VESPER_TEST_BACKEND=postgres needs VESPER_TEST_PG_URL (npm run pg:up prints it)');
}

/**
 * The tables of a test server start with a prefix made from its data directory: servers never see
 * each other's tables, and a restart over the same data directory finds its own again.
 */
export function pgPrefixOf(dataDir: string): string {
  return `t${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}_`;
}

/** What a server over `dataDir` needs in its environment to run on the test backend. */
export function backendEnv(dataDir: string): Record<string, string> {
  if (TEST_BACKEND === 'leveldb' || TEST_PG_URL === undefined) return {};
  return { VESPER_BACKEND: 'postgres', VESPER_PG_URL: TEST_PG_URL, VESPER_PG_TABLE_PREFIX: pgPrefixOf(dataDir), VESPER_PG_POOL: '4' };
}

/** Drop the tables of a test server (the PostgreSQL counterpart of deleting its data directory). */
export async function dropBackendData(dataDir: string, url = TEST_PG_URL): Promise<void> {
  if (TEST_BACKEND === 'leveldb' || url === undefined) return;
  const prefix = pgPrefixOf(dataDir);
  const client = new PgClient({ url, tablePrefix: prefix, poolSize: 1, snapshotPoolSize: 1 });
  try {
    await dropTablesWithPrefix(client, prefix);
  } finally {
    await client.end();
  }
}

/**
 * False on PostgreSQL: tests that only mean something on LevelDB (file descriptors, raw LevelDB
 * files, a real full disk, kill -9 of a LevelDB directory, the on-disk format fixture) are
 * `(ON_LEVELDB ? test : test.skip)(…)`, with the reason next to them.
 */
export const ON_LEVELDB = TEST_BACKEND === 'leveldb';

/** The raw level of one database of a (stopped) test server: its LevelDB directory, or its table. Close it before restarting the server. */
export interface RawLevel {
  readonly level: LevelDb;
  close(): Promise<void>;
}

export async function openRawLevel(dataDir: string, database: string): Promise<RawLevel> {
  if (TEST_BACKEND === 'leveldb' || TEST_PG_URL === undefined) {
    const level = new ClassicLevel<string, string>(join(dataDir, database));
    await level.open();
    return { level: level as unknown as LevelDb, close: () => level.close() };
  }
  const client = new PgClient({ url: TEST_PG_URL, tablePrefix: pgPrefixOf(dataDir), poolSize: 2, snapshotPoolSize: 1 });
  const level = new PostgresLevel<string, string>(client, database);
  await level.open();
  return {
    level: level as unknown as LevelDb,
    close: async () => {
      await level.close();
      await client.end();
    },
  };
}

/** Whether a database of a test server has storage: its directory, or its table. */
export async function storageExists(dataDir: string, database: string): Promise<boolean> {
  if (TEST_BACKEND === 'leveldb' || TEST_PG_URL === undefined) {
    return access(join(dataDir, database)).then(
      () => true,
      () => false,
    );
  }
  const client = new PgClient({ url: TEST_PG_URL, tablePrefix: pgPrefixOf(dataDir), poolSize: 1, snapshotPoolSize: 1 });
  try {
    return await client.tableExists(client.tableName(database));
  } finally {
    await client.end();
  }
}
