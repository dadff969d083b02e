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

test('write groups › concurrent commits of different tenants › share batches, and a batch that fails fails only its own commit', async (t) => {
  const { catalog, levels } = await memoryCatalog();
  const database = (await catalog.forWrite('default')).database;
  const level = levels.get('default');
  if (!level) throw new Error('no level');
  const now = Date.now();
  const names = Array.from({ length: 8 }, (_, i) => `t${i}`);
  for (const name of names) await database.tenant(name).tell([fact('warm', 'up')], now);
  // A batch holding the poisoned fact's key is refused (a prewrite hook that throws fails the whole batch, as a failing disk would).
  const tenantsOf = new Map<unknown, Set<unknown>>();
  let refusing = true;
  const hook = (op: { key: string; sublevel?: unknown }, batch: unknown) => {
    if (!tenantsOf.has(batch)) tenantsOf.set(batch, new Set());
    tenantsOf.get(batch)?.add(op.sublevel); // a tenant's sublevel (the database's META is one more)
    if (refusing && op.key.includes('poison')) throw new Error('refused by the test');
  };
  level.hooks.prewrite.add(hook as never);
  // The first write takes a while (as one through LevelDB's thread pool does): the others arrive meanwhile.
  const batch = level.batch.bind(level) as (...args: unknown[]) => Promise<void>;
  let first = true;
  (level as unknown as { batch: unknown }).batch = async (...args: unknown[]) => {
    if (first) await new Promise((resolve) => setTimeout(resolve, 50));
    first = false;
    return batch(...args);
  };
  const results = await Promise.allSettled(names.map((name, i) => database.tenant(name).tell([fact('p', i === 3 ? 'poison' : `ok${i}`)], now)));
  refusing = false;
  (level as unknown as { batch: unknown }).batch = batch;
  const sizes = [...tenantsOf.values()].map((tenants) => tenants.size);
  t.true(sizes.some((tenants) => tenants > 2), `batches spanning several tenants: ${sizes.join(', ')}`);
  t.deepEqual(results.map((r) => r.status), names.map((_, i) => (i === 3 ? 'rejected' : 'fulfilled')));
  for (const [i, name] of names.entries()) {
    const facts = await database.tenant(name).read(now, async (reads) => {
      const out: string[] = [];
      for await (const { fact: f } of reads.match(reads.view('main')!, { predicate: 'p', args: [undefined], negated: false }, { now })) out.push(String(f.args[0]));
      return out;
    });
    t.deepEqual(facts, i === 3 ? [] : [`ok${i}`], name);
  }
  // The refused tenant writes again once its disk takes the batch.
  level.hooks.prewrite.delete(hook as never);
  t.is((await database.tenant('t3').tell([fact('p', 'later')], now))[0]?.version, 1);
  await catalog.close();
});
