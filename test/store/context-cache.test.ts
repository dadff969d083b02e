// The cache of context records (src/store/context-cache.ts): sessions and access counts are read
// from disk once, written through by the commits that change them, and never seen stale: not by a
// snapshot older than a write, nor after the tenant is deleted or purged, nor past its bound.
import test from 'ava';
import type { MemoryLevel } from 'memory-level';
import { ContextCache } from '../../src/store/context-cache.js';
import type { SessionRecord } from '../../src/store/session-records.js';
import type { TenantStore } from '../../src/store/tenant-store.js';
import type { BatchOp, LevelSublevel } from '../../src/store/level-types.js';
import { accessKey } from '../../src/encoding/session-keys.js';
import { ON_LEVELDB } from '../helpers/backend.js';
import { memoryCatalog } from './support.js';

// Tests that count the reads reaching the level, or hold its batches, patch memory-level's methods.
const onMemoryLevel = ON_LEVELDB ? test : test.skip;

/** Count the point reads (get and getMany calls) that reach a memory level. */
function countPointReads(level: MemoryLevel<string, string>): { readonly count: number } {
  const counter = { count: 0 };
  const target = level as unknown as Record<'_get' | '_getMany', (...args: unknown[]) => unknown>;
  for (const name of ['_get', '_getMany'] as const) {
    const original = target[name].bind(level);
    target[name] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

const session = (windowId: string, at: number): SessionRecord => ({ windowId, createdAt: at, lastUsedAt: at, entries: [] });
const IDS = ['p(a)', 'p(b)', 'p(c)'];

async function setup() {
  const store = await memoryCatalog();
  const tenant = (await store.catalog.forWrite('default')).database.tenant('t');
  const reads = countPointReads(store.levels.get('default') as MemoryLevel<string, string>);
  return { ...store, tenant, reads };
}

/** Count two of the facts as accessed and remember a session, in one commit (what a window does). */
async function windowWrites(tenant: TenantStore, now: number, windowId: string): Promise<void> {
  await tenant.transaction(now, async (tx) => {
    await tx.incrementAccess(IDS.slice(0, 2));
    tx.putSession('s1', session(windowId, now));
  });
}

const countsOf = (tenant: TenantStore, now: number) => tenant.read(now, async (r) => Object.fromEntries(await r.accessCountsOf(IDS)));
const sessionOf = (tenant: TenantStore, now: number) => tenant.read(now, async (r) => (await r.session('s1'))?.windowId ?? null);

onMemoryLevel('context cache › records a commit wrote are read without a disk read, with the values written', async (t) => {
  const { catalog, tenant, reads } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  await windowWrites(tenant, now, 'w2');
  const before = reads.count;
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 2, 'p(b)': 2 });
  t.is(await sessionOf(tenant, now), 'w2');
  // p(c) was never written: its absence was read once (the first incrementAccess did not ask for it).
  const afterFirst = reads.count;
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 2, 'p(b)': 2 });
  t.is(await sessionOf(tenant, now), 'w2');
  t.is(reads.count, afterFirst, 'the second reads of the same records reached no disk');
  t.true(afterFirst - before <= 1, 'only the never-written count was read from disk');
  // What the cache answers is what the disk holds.
  const level = (await catalog.forRead('default')).database;
  t.is(await tenantSub(level.tenant('t')).get(accessKey('p(a)')), '2');
  await catalog.close();
});

onMemoryLevel('context cache › a reader whose snapshot is older than a write sees the records of its snapshot', async (t) => {
  const { catalog, tenant, reads } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 1, 'p(b)': 1 });
  t.is(await sessionOf(tenant, now), 'w1');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let diskReads = -1;
  const old = tenant.read(now, async (r) => {
    await gate; // the snapshot is taken: a window commits meanwhile
    const before = reads.count;
    const seen = [Object.fromEntries(await r.accessCountsOf(IDS)), (await r.session('s1'))?.windowId];
    diskReads = reads.count - before;
    return seen;
  });
  await windowWrites(tenant, now, 'w2');
  release();
  t.deepEqual(await old, [{ 'p(a)': 1, 'p(b)': 1 }, 'w1'], 'the old snapshot does not see the counts written after it');
  t.is(diskReads, 0, 'the values the commit replaced were kept for it');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 2, 'p(b)': 2 });
  t.is(await sessionOf(tenant, now), 'w2');
  await catalog.close();
});

onMemoryLevel('context cache › while a commit is in flight, readers from before it use the cache and readers since read its records from disk', async (t) => {
  const { catalog, tenant, reads, levels } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 1, 'p(b)': 1 });
  let releaseOld!: () => void;
  const oldGate = new Promise<void>((resolve) => (releaseOld = resolve));
  let oldDiskReads = -1;
  const old = tenant.read(now, async (r) => {
    await oldGate;
    const before = reads.count;
    const counts = Object.fromEntries(await r.accessCountsOf(IDS));
    oldDiskReads = reads.count - before;
    return counts;
  });
  // Hold the next batch on its way to the level.
  const level = levels.get('default') as unknown as { _batch: (...args: unknown[]) => Promise<void> };
  const original = level._batch.bind(level);
  let releaseBatch!: () => void;
  const batchGate = new Promise<void>((resolve) => (releaseBatch = resolve));
  let batchStarted!: () => void;
  const started = new Promise<void>((resolve) => (batchStarted = resolve));
  level._batch = async (...args: unknown[]) => {
    batchStarted();
    await batchGate;
    return original(...args);
  };
  const writing = windowWrites(tenant, now, 'w2');
  await started;
  level._batch = original;
  releaseOld();
  t.deepEqual(await old, { 'p(a)': 1, 'p(b)': 1 });
  t.is(oldDiskReads, 0, 'a reader pinned before the commit began is not held back by it');
  const before = reads.count;
  const during = await countsOf(tenant, now);
  t.deepEqual(during, { 'p(a)': 1, 'p(b)': 1 }, 'the batch is not on the level yet');
  t.true(reads.count > before, 'a reader pinned since the commit began reads the records it writes from disk');
  releaseBatch();
  await writing;
  const after = reads.count;
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 2, 'p(b)': 2 });
  t.is(reads.count, after, 'once written, the records are cached with their new values');
  await catalog.close();
});

test('context cache › a deleted tenant keeps no record: the tenant made again under its name starts with none', async (t) => {
  const { catalog, tenant } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  t.is(await sessionOf(tenant, now), 'w1');
  await tenant.clear();
  t.deepEqual(await countsOf(tenant, now), {});
  t.is(await sessionOf(tenant, now), null);
  await windowWrites(tenant, now, 'w3');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 1, 'p(b)': 1 }, 'counted from zero again, not from the cached counts');
  await catalog.close();
});

onMemoryLevel('context cache › a purge (erase) forgets what was cached, so records it removed are not read back', async (t) => {
  const { catalog, tenant, reads } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 1, 'p(b)': 1 });
  await tenant.erase(now, async (tx) => tx.deleteAccess(['p(a)']));
  const before = reads.count;
  t.deepEqual(await countsOf(tenant, now), { 'p(b)': 1 });
  t.true(reads.count > before, 'read again from disk after the purge');
  await catalog.close();
});

onMemoryLevel('context cache › a failed commit forgets the records: the batch may or may not be on disk', async (t) => {
  const { catalog, tenant, levels } = await setup();
  const now = Date.now();
  await windowWrites(tenant, now, 'w1');
  t.is(await sessionOf(tenant, now), 'w1');
  const level = levels.get('default') as unknown as { _batch: (...args: unknown[]) => unknown };
  const original = level._batch;
  level._batch = () => {
    throw new Error('disk on fire');
  };
  await t.throwsAsync(windowWrites(tenant, now, 'w2'));
  level._batch = original;
  t.is(await sessionOf(tenant, now), 'w1', 'the session on disk, not the one of the failed batch');
  t.deepEqual(await countsOf(tenant, now), { 'p(a)': 1, 'p(b)': 1 });
  await catalog.close();
});

test('context cache › bounded: past its weight the least recently used tenant loses its records first', (t) => {
  const cache = new ContextCache(40);
  const sub = {} as LevelSublevel;
  const put = (n: number): BatchOp[] => Array.from({ length: n }, (_, i) => ({ type: 'put', key: accessKey(`f${i}`), value: '1', sublevel: sub }));
  const [a, b, c] = ['a', 'b', 'c'].map((name) => cache.forTenant(name)) as [ReturnType<ContextCache['forTenant']>, ReturnType<ContextCache['forTenant']>, ReturnType<ContextCache['forTenant']>];
  for (const tenant of [a, b, c]) {
    tenant.writing(put(10), sub);
    tenant.committed(true);
  }
  t.deepEqual(cache.size, { records: 30, weight: 30 });
  t.not(a.lookup(accessKey('f0'), a.pin()), null);
  a.used(); // a was read: b is the least recently used now
  const [d, e] = [cache.forTenant('d'), cache.forTenant('e')];
  e.writing(put(5), sub);
  e.committed(true);
  d.writing(put(10), sub);
  d.committed(true);
  t.deepEqual(cache.size, { records: 40, weight: 40 }, 'back within the bound');
  t.is(b.records, 5, 'the least recently used tenant lost what was over');
  t.is(b.lookup(accessKey('f0'), b.pin()), null, 'its oldest records went first');
  t.not(b.lookup(accessKey('f9'), b.pin()), null);
  t.is(a.records, 10);
  t.is(c.records, 10);
  d.writing([{ type: 'put', key: accessKey('more'), value: '1', sublevel: sub }], sub);
  d.committed(true);
  t.is(d.records, 10, 'no tenant keeps more than a quarter of the bound');
});

function tenantSub(tenant: TenantStore): LevelSublevel {
  return (tenant as unknown as { sub: LevelSublevel }).sub;
}
