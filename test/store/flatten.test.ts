// Unit tests of chain flattening and retired-layer collection over the store API, on memory-level (no server involved).
import test from 'ava';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { flattenDeepChains } from '../../src/scopes/flatten.js';
import { deleteScope, forkScope } from '../../src/scopes/lifecycle.js';
import type { TenantStore } from '../../src/store/tenant-store.js';
import { fact, layersOnDisk, memoryCatalog, rawEntries, visible, visibleIn } from './support.js';

/** Twelve rounds of fork, write, retract, delete the fork: main's chain grows past the flatten depth. */
async function deepen(tenant: TenantStore, now: number): Promise<Set<string>> {
  const expected = new Set<string>();
  await tenant.tell(Array.from({ length: 20 }, (_, i) => fact('p', `base${i}`)), now);
  for (let i = 0; i < 20; i++) expected.add(`base${i}`);
  for (let round = 0; round < 12; round++) {
    await tenant.transaction(now, async (tx) => void forkScope(tx.scopes, MAIN_SCOPE, `child${round}`, now));
    await tenant.tell([fact('p', `round${round}`)], now);
    expected.add(`round${round}`);
    await tenant.retract(MAIN_SCOPE, { predicate: 'p', args: [`base${round}`], negated: false }, now);
    expected.delete(`base${round}`);
    await tenant.transaction(now, async (tx) => deleteScope(tx, `child${round}`));
  }
  return expected;
}

test('flattenDeepChains › after many forks whose children were deleted › folds main into a short chain with the same facts', async (t) => {
  const { catalog, background, failures } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  const expected = await deepen(tenant, now);
  const before = (await tenant.scopes(now)).get(MAIN_SCOPE)?.chain.length ?? 0;
  t.true(before > 8, `chain grew to ${before}`);
  t.deepEqual(await visible(tenant, now), [...expected].sort());
  t.is(await flattenDeepChains(tenant, now), 1);
  await background.idle();
  const registry = await tenant.scopes(now);
  const main = registry.get(MAIN_SCOPE);
  t.true((main?.chain.length ?? 99) <= 2, `chain is now ${main?.chain.length}`);
  t.deepEqual(await visible(tenant, now), [...expected].sort());
  t.is(registry.countOf(main?.chain ?? []), expected.size);
  t.deepEqual(failures, []);
  await catalog.close();
});

test('flattenDeepChains › a read held open across the flatten and its cleanup › sees every fact, and the old layers go when it closes', async (t) => {
  const { catalog, background, failures, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const level = levels.get('default');
  if (!level) throw new Error('no level');
  const now = Date.now();
  const expected = [...(await deepen(tenant, now))].sort();
  const oldChain = (await tenant.scopes(now)).get(MAIN_SCOPE)?.chain ?? [];
  await tenant.read(now, async (reads) => {
    const view = reads.view(MAIN_SCOPE);
    if (!view) throw new Error('no main');
    // Start reading, flatten (swap) and let the background run, then read the rest.
    const iterator = reads.match(view, { predicate: 'p', args: [undefined], negated: false }, { now });
    const first = await iterator.next();
    t.is(await flattenDeepChains(tenant, now), 1);
    await background.idle();
    const seen = first.done ? [] : [String(first.value.fact.args[0])];
    for await (const { fact: f } of iterator) seen.push(String(f.args[0]));
    t.deepEqual(seen.sort(), expected);
    t.deepEqual(await visibleIn(reads, now), expected, 'a second read of the same reader sees the same state');
    const onDisk = await layersOnDisk(level, 't');
    t.true(oldChain.slice(1).every((layer) => onDisk.has(layer)), 'retired layers are kept while a reader of that state is open');
  });
  await background.idle();
  const live = new Set((await tenant.scopes(now)).layerUse().keys());
  const onDisk = await layersOnDisk(level, 't');
  t.deepEqual([...onDisk].filter((layer) => !live.has(layer)), [], 'no keys of unreferenced layers remain');
  t.deepEqual((await rawEntries(level)).filter(([key]) => key.startsWith('!~meta!G')), [], 'the retirement journal is empty');
  t.deepEqual(await visible(tenant, now), expected);
  t.deepEqual(failures, []);
  await catalog.close();
});

// Serial: the count patches the registry's prototype, which the other tests of this file call too.
test.serial('flattenDeepChains › with many live forks › counts layer use once per pass, not once per scope (forks stayed quadratic: seconds each at 300)', async (t) => {
  const { catalog } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a')], now);
  for (let i = 0; i < 40; i++) await tenant.transaction(now, async (tx) => void forkScope(tx.scopes, MAIN_SCOPE, `live${i}`, now));
  const registry = await tenant.scopes(now);
  const deep = registry.all().filter((s) => s.chain.length > 8).length;
  t.true(deep > 20, `${deep} scopes deeper than the flatten depth`);
  const proto = Object.getPrototypeOf(registry) as { layerUse: () => unknown };
  const original = proto.layerUse;
  let calls = 0;
  proto.layerUse = function (this: unknown) {
    calls++;
    return original.call(this);
  };
  try {
    await flattenDeepChains(tenant, now);
  } finally {
    proto.layerUse = original;
  }
  t.is(calls, 1);
  t.deepEqual(await visible(tenant, now), ['a']);
  await catalog.close();
});
