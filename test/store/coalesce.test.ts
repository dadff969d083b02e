// Concurrent tells of a tenant are coalesced into group-committed batches; each tell stays all-or-nothing on its own.
import test from 'ava';
import { fact, memoryCatalog, visible } from './support.js';

test('tell › 50 concurrent tells › go into fewer batches, every one acknowledged and numbered in order', async (t) => {
  const { catalog, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const level = levels.get('default');
  if (!level) throw new Error('no level');
  const now = Date.now();
  await tenant.tell([fact('p', 'first')], now);
  // The prewrite hook sees every op with the batch it belongs to: count the batches.
  const seen = new Set<unknown>();
  level.hooks.prewrite.add((_op, batch) => void seen.add(batch));
  const told = await Promise.all(Array.from({ length: 50 }, (_, i) => tenant.tell([fact('p', `c${i}`)], now + i)));
  const batches = seen.size;
  t.log(`${batches} batches for 50 tells`);
  t.true(batches < 50 && batches >= 1, `${batches} batches for 50 tells`);
  t.deepEqual(told.map((stored) => stored[0]?.version), Array(50).fill(1));
  t.deepEqual(told.map((stored) => stored[0]?.createdAt), Array.from({ length: 50 }, (_, i) => now + i), 'each tell keeps its own time');
  t.is((await visible(tenant, now + 100)).length, 51);
  t.deepEqual((await tenant.events.read(0, 100)).map((e) => e.seq), Array.from({ length: 51 }, (_, i) => i + 1));
  await catalog.close();
});

test('tell › a refused tell among concurrent ones › fails alone, leaving no trace; the others see each other in order', async (t) => {
  const { catalog } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('warm', 'up')], now);
  const results = await Promise.allSettled([
    tenant.tell([fact('p', 'a')], now),
    tenant.tell([{ ...fact('z', '1'), scope: 'made-by-refused' }, { ...fact('p', 'a'), negated: true }], now),
    tenant.tell([fact('p', 'a'), fact('p', 'b')], now),
  ]);
  t.is(results[0].status, 'fulfilled');
  t.is(results[1].status, 'rejected');
  t.regex(String((results[1] as PromiseRejectedResult).reason), /contradiction/);
  t.is(results[2].status, 'fulfilled');
  t.deepEqual((results[2] as PromiseFulfilledResult<{ version: number }[]>).value.map((f) => f.version), [2, 1], 'the third saw the first');
  const registry = await tenant.scopes(now);
  t.false(registry.has('made-by-refused'), 'the refused tell created no scope');
  t.is(registry.countOf(registry.get('main')?.chain ?? []), 3);
  t.deepEqual((await tenant.events.read(0, 10)).map((e) => e.seq), [1, 2, 3]);
  await catalog.close();
});
