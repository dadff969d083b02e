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

/**
 * Records the access-count keys a database reads (multi-gets and iterators), at the root level
 * every sublevel read ends in.
 */
function watchAccessReads(level: { _getMany: Function; _iterator: Function; _keys: Function }) {
  const read = { keys: [] as string[], scans: 0 };
  const text = (key: unknown) => (typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : '').replace(/^![^!]*!/, '');
  const accessKey = (key: unknown) => isAccessKey(text(key));
  const getMany = level._getMany.bind(level);
  level._getMany = (keys: unknown[], ...rest: unknown[]) => {
    for (const key of keys) if (accessKey(key)) read.keys.push(text(key));
    return getMany(keys, ...rest);
  };
  for (const method of ['_iterator', '_keys'] as const) {
    const open = level[method].bind(level);
    level[method] = (options: { gte?: unknown; gt?: unknown; limit?: number }) => {
      // A read of one key says whether there is any count; more is a scan of the counts.
      if (accessKey(options.gte ?? options.gt) && options.limit !== 1) read.scans++;
      return open(options);
    };
  }
  return read;
}

test('access counts › a window over a small fork of a large tenant › reads the counts of its candidates only', async (t) => {
  const { catalog, clock, context, tenant, address, levels } = await setup();
  const many = Array.from({ length: 300 }, (_, i) => fact('p', `m${i}`));
  await tenant.tell(many, clock.now());
  await context.optimize(address, { ...request, maxFacts: 300 }); // every fact of main gets a count
  await tenant.tell([{ ...fact('q', 'f1'), scope: 'fork' }, { ...fact('q', 'f2'), scope: 'fork' }], clock.now());
  const read = watchAccessReads(levels.get('default') as never);
  const window = await context.optimize(address, { ...request, scope: 'fork' });
  t.deepEqual(window.entries.map((e) => e.args[0]).sort(), ['f1', 'f2']);
  t.is(read.scans, 0, 'no scan of the counts');
  t.deepEqual(new Set(read.keys), new Set([0, 1].map((i) => `Q\0a\0${JSON.stringify(['q', 0, `f${i + 1}`])}`)), 'only the candidates\' counts were read');
  // A second window of the same request (reused, then caught up after a write) reads no more than its candidates' counts either.
  read.keys.length = 0;
  await tenant.tell([{ ...fact('q', 'f3'), scope: 'fork' }], clock.now());
  const next = await context.optimize(address, { ...request, scope: 'fork' });
  t.is(next.entries.length, 3);
  t.true(read.keys.every((k) => k.includes('"q"')), 'no count of a main-only fact was read');
  t.is(read.scans, 0);
  await catalog.close();
});
