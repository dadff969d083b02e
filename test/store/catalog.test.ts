// The catalogue's handle lifecycle on real LevelDBs: leases, a bounded pool of open databases
// (least recently used idle one closed first), and drops that never reopen what they delete.
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { DatabaseDroppingError, NotFoundError, StorageFullError, TooManyOpenDatabasesError } from '../../src/domain/errors.js';
import { type FactInput, MAIN_SCOPE } from '../../src/domain/fact.js';
import { databaseRegistryKey } from '../../src/encoding/control-keys.js';
import { Catalog, type CatalogOptions } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { makeDataDir } from '../helpers/server.js';
import { visible } from './support.js';

const fact = (predicate: string, ...args: (string | number)[]): FactInput => ({
  predicate, args, negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

/** Every LevelDB the catalogue opens, with how many are open right now and the most ever open at once. */
class Levels {
  readonly opened: string[] = [];
  open = 0;
  peak = 0;
  openLevel = (location: string): LevelDb => {
    const level = new ClassicLevel<string, string>(location);
    const database = location.split('/').pop() ?? '';
    // Counted when made (in the tick the request was admitted); the drop's own read of the event
    // counters (opened with createIfMissing: false) is not a request reopening it, and is renamed.
    const index = this.opened.push(database) - 1;
    const open = level.open.bind(level) as (options?: { createIfMissing?: boolean }) => Promise<void>;
    Object.assign(level, {
      open: (options?: { createIfMissing?: boolean }) => {
        if (options?.createIfMissing === false) this.opened[index] = `${database} (read by the drop)`;
        return open(options);
      },
    });
    level.on('opening', () => {
      if (database === '_system') return;
      this.open++;
      this.peak = Math.max(this.peak, this.open);
    });
    level.on('closed', () => {
      if (database !== '_system') this.open--;
    });
    return level as unknown as LevelDb;
  };
}

async function openCatalog(dataDir: string, levels: Levels, extra: Partial<CatalogOptions> = {}): Promise<Catalog> {
  return Catalog.open({
    dataDir,
    durability: { syncEveryWrite: false, groupCommitMs: 0 },
    strictDatabases: false,
    openLevel: levels.openLevel,
    ...extra,
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function tellOne(catalog: Catalog, database: string, value: string): Promise<void> {
  await using lease = await catalog.forWrite(database);
  await lease.database.tenant('t').tell([fact('p', value)], Date.now());
}

async function readAll(catalog: Catalog, database: string): Promise<string[]> {
  await using lease = await catalog.forRead(database);
  return await visible(lease.database.tenant('t'), Date.now());
}

test('catalog › open databases are bounded › the least recently used idle one is closed and reopened on demand with its data', async (t) => {
  const levels = new Levels();
  const catalog = await openCatalog(await makeDataDir(), levels, { maxOpenDatabases: 3 });
  const names = Array.from({ length: 12 }, (_, i) => `db${i}`);
  for (const name of names) await tellOne(catalog, name, `v-${name}`);
  for (const name of names) await tellOne(catalog, name, `w-${name}`);
  for (const name of [...names].reverse()) t.deepEqual(await readAll(catalog, name), [`v-${name}`, `w-${name}`]);
  t.true(levels.peak <= 3, `at most 3 open at once, saw ${levels.peak}`);
  t.is(catalog.stats().open, 3);
  t.is(catalog.stats().leases, 0, 'every lease was released');
  // The most recently used stay open: reading them again opens nothing.
  const before = levels.opened.length;
  await readAll(catalog, 'db0');
  await readAll(catalog, 'db1');
  t.is(levels.opened.length, before);
  await catalog.close();
  t.is(levels.open, 0);
});

test('catalog › open databases are bounded › when every slot is leased a new database is a typed 503 error, and the others keep working', async (t) => {
  const levels = new Levels();
  const catalog = await openCatalog(await makeDataDir(), levels, { maxOpenDatabases: 2 });
  await tellOne(catalog, 'a', '1');
  await tellOne(catalog, 'b', '1');
  await tellOne(catalog, 'c', '1');
  const held = [await catalog.forRead('a'), await catalog.forRead('b')];
  const error = await t.throwsAsync(catalog.forRead('c'), { instanceOf: TooManyOpenDatabasesError });
  t.is(error?.code, 'TOO_MANY_OPEN_DATABASES');
  t.deepEqual(await readAll(catalog, 'a'), ['1'], 'a leased database still answers');
  held[0]?.release();
  t.deepEqual(await readAll(catalog, 'c'), ['1'], 'a released slot is reused');
  held[1]?.release();
  t.is(catalog.stats().leases, 0);
  await catalog.close();
});

test('catalog › drop racing reads › never reopens the database; every racing read succeeds or is refused with 409/404', async (t) => {
  const levels = new Levels();
  const dataDir = await makeDataDir();
  const catalog = await openCatalog(dataDir, levels, { maxOpenDatabases: 2 });
  for (let i = 0; i < 20; i++) await tellOne(catalog, 'doomed', `v${i}`);
  await tellOne(catalog, 'other1', 'x');
  await tellOne(catalog, 'other2', 'x'); // 'doomed' is now closed (least recently used): a read would reopen it
  let dropStarted = -1;
  const outcomes = new Map<string, number>();
  const count = (kind: string) => outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
  const reader = async (i: number) => {
    await new Promise((resolve) => setTimeout(resolve, i % 7));
    try {
      const read = await readAll(catalog, 'doomed');
      count(read.length === 20 ? 'read' : `partial:${read.length}`);
    } catch (error) {
      if (error instanceof DatabaseDroppingError) count('409');
      else if (error instanceof NotFoundError) count('404');
      else throw error;
    }
  };
  const readers = Array.from({ length: 60 }, (_, i) => reader(i));
  await new Promise((resolve) => setTimeout(resolve, 2));
  dropStarted = levels.opened.length;
  await catalog.drop('doomed');
  await Promise.all(readers);
  const reopenedAfterDrop = levels.opened.slice(dropStarted).filter((n) => n === 'doomed');
  t.deepEqual(reopenedAfterDrop, [], 'nothing opened the database once the drop had started');
  t.false(await exists(join(dataDir, 'doomed')), 'its directory is gone');
  t.false(catalog.exists('doomed'));
  t.log(JSON.stringify([...outcomes]));
  t.is([...outcomes.keys()].filter((k) => k.startsWith('partial')).length, 0, `no read saw part of it: ${JSON.stringify([...outcomes])}`);
  t.is(catalog.stats().leases, 0);
  // The name is free again: a write creates a new, empty database.
  await tellOne(catalog, 'doomed', 'new');
  t.deepEqual(await readAll(catalog, 'doomed'), ['new']);
  await catalog.close();
});

test('catalog › drop › waits for the requests holding the database, and refuses new ones meanwhile', async (t) => {
  const catalog = await openCatalog(await makeDataDir(), new Levels());
  await tellOne(catalog, 'busy', '1');
  const held = await catalog.forRead('busy');
  let dropped = false;
  const dropping = catalog.drop('busy').then(() => (dropped = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.false(dropped, 'the drop waits for the lease');
  await t.throwsAsync(catalog.forRead('busy'), { instanceOf: DatabaseDroppingError });
  await t.throwsAsync(catalog.forWrite('busy'), { instanceOf: DatabaseDroppingError });
  t.false(catalog.list().some((d) => d.name === 'busy'), 'a dropping database is not listed');
  t.deepEqual(await held.database.listTenants(), ['t'], 'the holder still reads it');
  held.release();
  await dropping;
  await t.throwsAsync(catalog.forRead('busy'), { instanceOf: NotFoundError });
  await catalog.close();
});

test('catalog › a drop interrupted by a crash › is finished at the next start: files and registration gone, nothing half there', async (t) => {
  const dataDir = await makeDataDir();
  const first = await openCatalog(dataDir, new Levels());
  await tellOne(first, 'half', '1');
  await tellOne(first, 'kept', '1');
  // The state a crash leaves after the durable mark and part of the file removal.
  await first.systemLevel.put(databaseRegistryKey('half'), JSON.stringify({ name: 'half', createdAt: 1, dropping: true }));
  await first.close();
  await writeFile(join(dataDir, 'half', 'CURRENT'), 'MANIFEST-999999\n'); // a manifest that no longer exists
  await mkdir(join(dataDir, 'half', 'leftover'), { recursive: true });
  const second = await openCatalog(dataDir, new Levels());
  t.false(second.exists('half'));
  t.false(await exists(join(dataDir, 'half')));
  t.deepEqual(await readAll(second, 'kept'), ['1']);
  await second.close();
});

test('catalog › out of file descriptors while opening › a typed 503 error for that database only, and it opens once descriptors are back', async (t) => {
  const levels = new Levels();
  let exhausted = false;
  const catalog = await openCatalog(await makeDataDir(), levels, {
    openLevel: (location) => {
      const level = levels.openLevel(location);
      level.hooks.postopen.add(async () => {
        if (exhausted && location.endsWith('/starved')) throw new Error(`IO error: ${location}/LOCK: Too many open files`);
      });
      return level;
    },
  });
  await tellOne(catalog, 'fine', '1');
  exhausted = true;
  const error = await t.throwsAsync(catalog.forWrite('starved'), { instanceOf: TooManyOpenDatabasesError });
  t.like(error?.details, { database: 'starved', reason: 'descriptors' });
  t.deepEqual(await readAll(catalog, 'fine'), ['1'], 'other databases are not affected');
  exhausted = false;
  await tellOne(catalog, 'starved', '2');
  t.deepEqual(await readAll(catalog, 'starved'), ['2']);
  t.is(catalog.stats().leases, 0);
  await catalog.close();
});

test('catalog › after a full disk › a request holding the database leases it again without waiting, and writes resume once space is back', async (t) => {
  const levels = new Levels();
  let full = false;
  let free = 10 * 1024 * 1024;
  const catalog = await openCatalog(await makeDataDir(), levels, {
    openLevel: (location) => {
      const level = levels.openLevel(location);
      level.hooks.prewrite.add(() => {
        if (full) throw new Error(`IO error: ${location}/000003.log: No space left on device`);
      });
      return level;
    },
    freeBytes: async () => free,
    minFreeBytes: 1024,
  });
  await tellOne(catalog, 'd', '1');
  full = true;
  free = 0;
  const refused = await t.throwsAsync(tellOne(catalog, 'd', '2'), { instanceOf: StorageFullError });
  t.is(refused?.code, 'STORAGE_FULL');
  t.true(catalog.stats().storageFull);
  t.deepEqual(await readAll(catalog, 'd'), ['1'], 'reads work; nothing of the refused write');
  const outer = await catalog.forRead('d');
  full = false;
  free = 10 * 1024 * 1024;
  const inner = await Promise.race([catalog.forRead('d'), new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000))]);
  t.not(inner, null, 'a nested lease does not wait for the reopen');
  inner?.release();
  outer.release();
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the free-space probe runs at most once a second
  await tellOne(catalog, 'd', '3');
  t.deepEqual(await readAll(catalog, 'd'), ['1', '3']);
  t.false(catalog.stats().storageFull);
  t.is(catalog.stats().leases, 0);
  await catalog.close();
});

test('catalog › drop › a lease never released fails the drop with 409 after the wait, and the database is left whole', async (t) => {
  const catalog = await openCatalog(await makeDataDir(), new Levels(), { dropWaitMs: 200 });
  await tellOne(catalog, 'pinned', '1');
  const leaked = await catalog.forRead('pinned');
  const error = await t.throwsAsync(catalog.drop('pinned'));
  t.is((error as { code?: string }).code, 'CONFLICT');
  t.true(catalog.exists('pinned'));
  t.deepEqual(await readAll(catalog, 'pinned'), ['1']);
  leaked.release();
  await catalog.drop('pinned');
  t.false(catalog.exists('pinned'));
  await catalog.close();
});
