// Two real Vesper processes over the same PostgreSQL tables (same data directory, hence the same
// table prefix: helpers/backend.ts), started before a file's tests and stopped after them. Two
// processes cannot share a LevelDB directory: on LevelDB the file's tests are skipped.
import anyTest, { type TestFn } from 'ava';
import { rm } from 'node:fs/promises';
import { ON_LEVELDB, dropBackendData } from '../helpers/backend.js';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { makeDataDir } from '../helpers/server.js';

export interface TwoServers {
  a: ChildServer;
  b: ChildServer;
  dataDir: string;
}

/** The file's serial test function, with processes `a` and `b` (environment `env`) in its context. */
export function twoServers(env: Readonly<Record<string, string>>) {
  const hooks = anyTest as TestFn<TwoServers>;
  hooks.before(async (t) => {
    if (ON_LEVELDB) return;
    const dataDir = await makeDataDir();
    t.context.dataDir = dataDir;
    // One after the other: the first creates the tables, the second finds them.
    t.context.a = await spawnServer(dataDir, env, 60_000);
    t.context.b = await spawnServer(dataDir, env, 60_000);
  });
  hooks.after.always(async (t) => {
    for (const server of [t.context.a, t.context.b]) {
      if (!server) continue;
      server.kill('SIGTERM');
      await server.exited;
    }
    if (t.context.dataDir) {
      await dropBackendData(t.context.dataDir);
      await rm(t.context.dataDir, { recursive: true, force: true });
    }
  });
  return ON_LEVELDB ? hooks.skip : hooks.serial;
}
