// The retrieval statistics of a layer (documents, total length) are kept by read-modify-write at
// each commit; the store remembers what its last commit left (LayerStatsCache) so that a tell of
// new facts reads nothing. The stored statistics must always equal what the stored documents say,
// whatever wrote the tenant in between, and the shortcut must really skip the read.
import test from 'ava';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { decodeDocument, decodeLayerStats } from '../../src/encoding/retrieval-keys.js';
import { deleteScope, forkScope } from '../../src/scopes/lifecycle.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { fact, memoryCatalog, rawEntries } from './support.js';

/** Per layer: the statistics stored, and the ones the stored documents add up to. */
async function statsOf(level: LevelDb, tenant: string): Promise<{ stored: Record<string, string>; counted: Record<string, string> }> {
  const prefix = `!${tenant}!W\0`;
  const stored: Record<string, string> = {};
  const counted: Record<string, { documents: number; totalLength: number }> = {};
  for (const [key, value] of await rawEntries(level)) {
    if (!key.startsWith(prefix)) continue;
    const [kind, layer] = key.slice(prefix.length).split('\0') as [string, string];
    if (kind === 's') {
      const s = decodeLayerStats(value);
      if (s.documents !== 0 || s.totalLength !== 0) stored[layer] = `${s.documents} ${s.totalLength}`;
    }
    if (kind === 'd') {
      const c = counted[layer] ?? { documents: 0, totalLength: 0 };
      counted[layer] = { documents: c.documents + 1, totalLength: c.totalLength + (decodeDocument(value)?.length ?? Number.NaN) };
    }
  }
  return { stored, counted: Object.fromEntries(Object.entries(counted).map(([layer, c]) => [layer, `${c.documents} ${c.totalLength}`])) };
}

function countGetMany(level: LevelDb): { count: number } {
  const counter = { count: 0 };
  const target = level as unknown as { _getMany: (...args: unknown[]) => unknown };
  const original = target._getMany.bind(level);
  target._getMany = (...args: unknown[]) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

test('layer statistics › after tells, updates, retractions, forks, tombstones, scope deletion and tenant deletion › equal what the documents add up to', async (t) => {
  const { catalog, background, levels } = await memoryCatalog();
  const database = (await catalog.forWrite('default')).database;
  const level = levels.get('default')!;
  let tenant = database.tenant('t');
  const now = Date.now();
  const check = async (step: string) => {
    await background.idle();
    const { stored, counted } = await statsOf(level, 't');
    t.deepEqual(stored, counted, step);
  };
  await tenant.tell([fact('p', 'a', 'one'), fact('p', 'b', 'two words')], now);
  await background.idle(); // the key filter is built: new facts are now told without reads
  await tenant.tell([fact('p', 'c', 'three more words')], now);
  await tenant.tell([fact('q', 'd')], now);
  await check('new facts');
  await tenant.tell([{ ...fact('p', 'a', 'one'), metadata: { note: 'longer text here now' } }], now);
  await check('an update that changes a document');
  await tenant.retract(null, { predicate: 'p', args: ['b', undefined], negated: false }, now);
  await check('a retraction in a root layer');
  await tenant.transaction(now, async (tx) => {
    forkScope(tx.scopes, MAIN_SCOPE, 'f', now);
  });
  await tenant.tell([{ ...fact('p', 'e', 'in the fork'), scope: 'f' }, { ...fact('p', 'c', 'three more words'), scope: 'f', metadata: { k: 'v w' } }], now);
  await tenant.tell([fact('p', 'g', 'main after the fork')], now);
  await check('writes on both sides of a fork');
  await tenant.retract('f', { predicate: 'p', args: ['a', undefined], negated: false }, now);
  await check('a tombstone in the fork');
  await tenant.transaction(now, async (tx) => deleteScope(tx, 'f'));
  await check('the fork deleted and its layer collected');
  await tenant.tell([fact('p', 'h', 'after the collection')], now);
  await check('a tell after the collection');
  await database.clearTenant('t');
  tenant = database.tenant('t');
  await tenant.tell([fact('p', 'z', 'a new tenant under the old name')], now);
  await background.idle();
  await tenant.tell([fact('p', 'y', 'and another')], now);
  await check('the tenant deleted and written again');
  await catalog.close();
});

test('layer statistics › a tell of a new fact once the key filter is built › reads nothing before its write', async (t) => {
  const { catalog, background, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a', 'one')], now);
  await background.idle();
  await tenant.tell([fact('p', 'b', 'two')], now); // the statistics of main's layer are known from here
  const reads = countGetMany(levels.get('default')!);
  await tenant.tell([fact('p', 'c', 'three')], now);
  t.is(reads.count, 0, 'no multi-get for a new fact');
  await tenant.tell([{ ...fact('p', 'c', 'three'), metadata: { k: 'v' } }], now);
  t.is(reads.count, 2, 'a fact that exists has its record and its document read');
  const { stored, counted } = await statsOf(levels.get('default')!, 't');
  t.deepEqual(stored, counted);
  await catalog.close();
});
