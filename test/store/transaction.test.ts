// The write port: a transaction commits one atomic batch, or leaves the store and the cached state exactly as before.
import test from 'ava';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { forkScope } from '../../src/scopes/lifecycle.js';
import { fact, rawEntries, toldTenant, visible } from './support.js';

const setup = () => toldTenant([fact('p', 'a'), fact('p', 'b')]);

const summary = async (tenant: Awaited<ReturnType<typeof setup>>['tenant'], now: number) => {
  const registry = await tenant.scopes(now);
  return { scopes: registry.all(), counts: registry.all().map((s) => registry.countOf(s.chain)), layers: [...registry.layerUse()] };
};

test('transaction › when the work throws after changing the draft › store and cached scopes are as before', async (t) => {
  const { catalog, tenant, level, now } = await setup();
  const before = await rawEntries(level);
  const scopesBefore = await summary(tenant, now);
  const registryBefore = await tenant.scopes(now);
  await t.throwsAsync(
    tenant.transaction(now, async (tx) => {
      forkScope(tx.scopes, MAIN_SCOPE, 'fork', now);
      tx.scopes.adjustCount(0, 5);
      tx.putFact({ predicate: 'p', args: ['c'], negated: false }, tx.scopes.get(MAIN_SCOPE)?.chain ?? [], null);
      tx.event({ op: 'told', actor: null, target: 'p', outcome: 'ok' });
      throw new Error('refused');
    }),
    { message: 'refused' },
  );
  t.is(await tenant.scopes(now), registryBefore, 'the installed scopes are the same object');
  t.deepEqual(await summary(tenant, now), scopesBefore);
  t.deepEqual(await rawEntries(level), before);
  await catalog.close();
});

test('transaction › when the batch fails to write › store, cached scopes and event numbers are as before', async (t) => {
  const { catalog, tenant, level, now } = await setup();
  const before = await rawEntries(level);
  const scopesBefore = await summary(tenant, now);
  let failing = true;
  level.hooks.prewrite.add(() => {
    if (failing) throw new Error('injected write failure');
  });
  await t.throwsAsync(tenant.tell([fact('p', 'c'), { ...fact('q', 'x'), scope: 'new-scope' }], now));
  await t.throwsAsync(tenant.transaction(now, async (tx) => void forkScope(tx.scopes, MAIN_SCOPE, 'fork', now)));
  t.deepEqual(await summary(tenant, now), scopesBefore);
  t.deepEqual(await rawEntries(level), before);
  failing = false;
  await tenant.tell([fact('p', 'd')], now);
  const registry = await tenant.scopes(now);
  t.deepEqual(registry.all().map((s) => s.name), [MAIN_SCOPE], 'the refused scope was never created');
  t.is(registry.countOf(registry.get(MAIN_SCOPE)?.chain ?? []), 3);
  t.deepEqual(await visible(tenant, now), ['a', 'b', 'd']);
  t.deepEqual((await tenant.events.read(0, 10)).map((e) => e.seq), [1, 2], 'no sequence number was lost or reused');
  await catalog.close();
});

test('transaction › a contradiction refused mid-batch › creates no scope and counts nothing', async (t) => {
  const { catalog, tenant, now } = await setup();
  await tenant.tell([{ ...fact('n', 'x'), negated: true }], now);
  const scopesBefore = await summary(tenant, now);
  await t.throwsAsync(tenant.tell([{ ...fact('z', '1'), scope: 'other' }, fact('p', 'e'), fact('n', 'x')], now), { message: /contradiction/ });
  t.deepEqual(await summary(tenant, now), scopesBefore);
  await catalog.close();
});
