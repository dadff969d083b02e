// Unit test of chain flattening over the store API, on memory-level (no server involved).
import test from 'ava';
import { MemoryLevel } from 'memory-level';
import { type FactInput, MAIN_SCOPE } from '../../src/domain/fact.js';
import { flattenDeepChains } from '../../src/scopes/flatten.js';
import { deleteScope, forkScope } from '../../src/scopes/lifecycle.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import type { TenantStore } from '../../src/store/tenant-store.js';

const fact = (predicate: string, ...args: (string | number)[]): FactInput => ({
  predicate, args, negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

async function visible(tenant: TenantStore, now: number): Promise<string[]> {
  const view = await tenant.view(MAIN_SCOPE, now);
  if (!view) return [];
  const out: string[] = [];
  for await (const { fact: f } of tenant.match(view, { predicate: 'p', args: [undefined], negated: false }, { now })) out.push(String(f.args[0]));
  return out.sort();
}

test('flattenDeepChains › after many forks whose children were deleted › folds main into a short chain with the same facts', async (t) => {
  const catalog = await Catalog.open({
    dataDir: '/memory',
    durability: { syncEveryWrite: false, groupCommitMs: 0 },
    strictDatabases: false,
    openLevel: () => new MemoryLevel<string, string>() as unknown as LevelDb,
  });
  const tenant = (await catalog.forWrite('default')).tenant('t');
  const now = Date.now();
  const expected = new Set<string>();
  await tenant.tell(Array.from({ length: 20 }, (_, i) => fact('p', `base${i}`)), now);
  for (let i = 0; i < 20; i++) expected.add(`base${i}`);
  for (let round = 0; round < 12; round++) {
    await tenant.lock.run(async () => {
      forkScope(await tenant.scopes(now), MAIN_SCOPE, `child${round}`, now);
      await tenant.commit([]);
    });
    await tenant.tell([fact('p', `round${round}`)], now);
    expected.add(`round${round}`);
    await tenant.retract(MAIN_SCOPE, { predicate: 'p', args: [`base${round}`], negated: false }, now);
    expected.delete(`base${round}`);
    await tenant.lock.run(async () => tenant.commit(await deleteScope(tenant, await tenant.scopes(now), `child${round}`)));
  }
  const before = (await tenant.scopes(now)).get(MAIN_SCOPE)?.chain.length ?? 0;
  t.true(before > 8, `chain grew to ${before}`);
  t.deepEqual(await visible(tenant, now), [...expected].sort());
  t.is(await flattenDeepChains(tenant, now), 1);
  const registry = await tenant.scopes(now);
  const main = registry.get(MAIN_SCOPE);
  t.true((main?.chain.length ?? 99) <= 2, `chain is now ${main?.chain.length}`);
  t.deepEqual(await visible(tenant, now), [...expected].sort());
  t.is(registry.countOf(main?.chain ?? []), expected.size);
  await catalog.close();
});
