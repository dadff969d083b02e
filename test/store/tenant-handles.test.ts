// The tenant-handle cache holds registered tenants only and is bounded; a dropped handle comes back with the same state.
import test from 'ava';
import { fact, memoryCatalog, visible } from './support.js';

test('FactDatabase.tenant › names that only reads mention › do not stay cached', async (t) => {
  const { catalog } = await memoryCatalog({ tenantHandles: { max: 100, idleMs: 0 } });
  const database = (await catalog.forWrite('default')).database;
  for (let i = 0; i < 50; i++) await visible(database.tenant(`ghost${i}`), Date.now());
  t.true(database.cachedTenantHandles <= 1, `${database.cachedTenantHandles} handles cached`);
  t.deepEqual(database.listTenants(), []);
  await catalog.close();
});

test('FactDatabase.tenant › more registered tenants than the bound › keeps at most the bound, and a dropped tenant reads and writes as before', async (t) => {
  const { catalog } = await memoryCatalog({ tenantHandles: { max: 3, idleMs: 0 } });
  const database = (await catalog.forWrite('default')).database;
  const now = Date.now();
  for (let i = 0; i < 10; i++) await database.tenant(`t${i}`).tell([fact('p', `a${i}`)], now);
  t.true(database.cachedTenantHandles <= 3, `${database.cachedTenantHandles} handles cached`);
  t.deepEqual(await visible(database.tenant('t0'), now), ['a0']);
  await database.tenant('t0').tell([fact('p', 'b0')], now);
  t.deepEqual(await visible(database.tenant('t0'), now), ['a0', 'b0']);
  t.deepEqual((await database.tenant('t0').events.read(0, 10)).map((e) => e.seq), [1, 2], 'the event counter continues');
  t.is(database.listTenants().length, 10);
  await catalog.close();
});

test('FactDatabase.tenant › a handle in use (a change stream subscribed) › is never dropped', async (t) => {
  const { catalog } = await memoryCatalog({ tenantHandles: { max: 1, idleMs: 0 } });
  const database = (await catalog.forWrite('default')).database;
  const watched = database.tenant('watched');
  const seen: number[] = [];
  const unsubscribe = watched.events.subscribe((event) => seen.push(event.seq));
  for (let i = 0; i < 5; i++) await database.tenant(`other${i}`).tell([fact('p', 'x')], Date.now());
  await database.tenant('watched').tell([fact('p', 'y')], Date.now());
  t.deepEqual(seen, [1], 'the write reached the subscriber: same handle');
  unsubscribe();
  await catalog.close();
});
