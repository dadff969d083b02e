// Pending imports at the store: an import that never finishes (its process "dies": the work never
// settles and the catalogue is closed under it) is undone when the database opens again; a tenant
// that existed stays registered and empty, one the import made is unregistered; others are untouched.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { META_SUBLEVEL, pendingImportRange } from '../../src/encoding/control-keys.js';
import { Catalog } from '../../src/store/catalog.js';
import type { FactDatabase } from '../../src/store/fact-database.js';
import type { LevelDb } from '../../src/store/level-types.js';
import type { SessionRecord } from '../../src/store/session-records.js';
import { fact } from './support.js';

const open = (dataDir: string) =>
  Catalog.open({
    dataDir,
    durability: { syncEveryWrite: true, groupCommitMs: 0 },
    strictDatabases: false,
    openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
  });

const session: SessionRecord = { windowId: 'w', createdAt: 1, lastUsedAt: 1, entries: [] };

/** An import into `tenant` that writes one chunk (a layer, a session) and then never goes on. */
async function abandonedImport(database: FactDatabase, tenant: string): Promise<void> {
  const chunkWritten = new Promise<void>((resolve) => {
    void database.imports.run(
      tenant,
      async () => undefined,
      async () => {
        await database.tenant(tenant).transaction(Date.now(), async (tx) => {
          tx.scopes.allocateLayer();
          tx.putSession('s1', session);
        });
        resolve();
        return new Promise<never>(() => undefined);
      },
    );
  });
  await chunkWritten;
}

async function rawKeys(dataDir: string, prefix: string): Promise<string[]> {
  const level = new ClassicLevel<string, string>(join(dataDir, 'default'));
  try {
    return await level.keys({ gte: prefix, lt: `${prefix}\xff` }).all();
  } finally {
    await level.close();
  }
}

test('pending import › the process stops midway › the next open empties the tenant: registered if it existed, unregistered if the import made it', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-pending-import-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  let catalog = await open(dataDir);
  {
    await using lease = await catalog.forWrite('default');
    const database = lease.database;
    await database.tenant('other').tell([fact('kept', 1)], Date.now());
    await database.registerTenant('existing');
    await abandonedImport(database, 'existing');
    await abandonedImport(database, 'made');
    t.true(database.hasTenant('made'));
  }
  await catalog.close();
  const markers = `!${META_SUBLEVEL}!${pendingImportRange().gte}`;
  t.is((await rawKeys(dataDir, markers)).length, 2, 'both markers are on disk');
  t.true((await rawKeys(dataDir, '!made!')).length > 0);
  const other = await rawKeys(dataDir, '!other!');

  catalog = await open(dataDir);
  {
    await using lease = await catalog.forRead('default');
    t.deepEqual(lease.database.listTenants(), ['existing', 'other']);
  }
  await catalog.close();
  t.deepEqual(await rawKeys(dataDir, markers), []);
  t.deepEqual(await rawKeys(dataDir, '!made!'), []);
  t.deepEqual(await rawKeys(dataDir, '!existing!'), []);
  t.deepEqual(await rawKeys(dataDir, '!other!'), other);
});

test('pending import › the import fails › the tenant is emptied and the marker goes; a refusal by the check writes nothing', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-pending-import-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const catalog = await open(dataDir);
  try {
    await using lease = await catalog.forWrite('default');
    const database = lease.database;
    const failing = database.imports.run(
      'made',
      async () => undefined,
      async () => {
        await database.tenant('made').transaction(Date.now(), async (tx) => tx.putSession('s1', session));
        throw new Error('bad line');
      },
    );
    await t.throwsAsync(failing, { message: 'bad line' });
    t.false(database.hasTenant('made'));
    await database.tenant('full').tell([fact('kept', 1)], Date.now());
    await t.throwsAsync(database.imports.run('full', async () => Promise.reject(new Error('not empty')), async () => 'never'), { message: 'not empty' });
    t.true(database.hasTenant('full'));
  } finally {
    await catalog.close();
  }
  const keys = await rawKeys(dataDir, '');
  t.deepEqual(keys.filter((k) => k.startsWith('!made!') || k.startsWith(`!${META_SUBLEVEL}!${pendingImportRange().gte}`)), []);
  t.true(keys.some((k) => k.startsWith('!full!')));
});
