// Bounded growth of the context feature: access counts go with their fact, idle sessions are swept (raw key scans).
import test from 'ava';
import { isAccessKey, isContextKey } from '../../src/encoding/session-keys.js';
import { ContextService } from '../../src/service/context/context-service.js';
import { RuleService } from '../../src/service/rules.js';
import { fact, memoryCatalog, rawEntries } from '../store/support.js';

const request = { maxFacts: 25, predicates: [], goals: [], includeContradictions: false };

async function setup(sessionIdleMs = 60_000) {
  const store = await memoryCatalog();
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const context = new ContextService(store.catalog, clock.now, new RuleService(store.catalog, clock.now), { sessionIdleMs });
  const tenant = (await store.catalog.forWrite('default')).database.tenant('ctx');
  const level = store.levels.get('default');
  if (!level) throw new Error('no level');
  const contextKeys = async (which: (key: string) => boolean) =>
    (await rawEntries(level)).map(([key]) => key).filter((key) => key.startsWith('!ctx!') && which(key.slice('!ctx!'.length)));
  return { ...store, clock, context, tenant, contextKeys, address: { database: 'default', tenant: 'ctx' } };
}

test('access counts › a fact retracted from every scope that held it › leaves no access key', async (t) => {
  const { catalog, clock, context, tenant, contextKeys, address } = await setup();
  await tenant.tell([fact('p', 'a'), fact('p', 'b'), { ...fact('p', 'a'), scope: 'side' }], clock.now());
  await context.optimize(address, request);
  t.is((await contextKeys(isAccessKey)).length, 2, 'each included fact is counted once');
  await tenant.retract('main', { predicate: 'p', args: ['a'], negated: false }, clock.now());
  t.is((await contextKeys(isAccessKey)).length, 2, 'p(a) still holds in scope side: its count stays');
  await tenant.retract('side', { predicate: 'p', args: ['a'], negated: false }, clock.now());
  t.is((await contextKeys(isAccessKey)).length, 1, 'gone from every scope: its count went with it');
  await tenant.retract(null, { predicate: 'p', args: [undefined], negated: false }, clock.now());
  t.deepEqual(await contextKeys(isAccessKey), []);
  await catalog.close();
});

test('sessions › idle for longer than the idle time › the background sweep deletes them, live ones stay', async (t) => {
  const { catalog, clock, context, tenant, contextKeys, address } = await setup(10_000);
  await tenant.tell([fact('p', 'a')], clock.now());
  await context.optimize(address, { ...request, sessionId: 'old' });
  clock.advance(6_000);
  await context.optimize(address, { ...request, sessionId: 'recent' });
  clock.advance(6_000);
  t.is(await context.sweepSessions(), 1);
  const left = (await contextKeys(isContextKey)).filter((key) => !isAccessKey(key.slice('!ctx!'.length)));
  t.deepEqual(left.map((key) => key.split('\0').pop()), ['recent']);
  clock.advance(20_000);
  t.is(await context.sweepSessions(), 1);
  t.deepEqual((await contextKeys(isContextKey)).filter((key) => !isAccessKey(key.slice('!ctx!'.length))), []);
  await catalog.close();
});
