// The text-index ops of a tell of new facts: the shortcut (no read, statistics from the store's cache)
// writes exactly what the general case computes from the stored state.
import test from 'ava';
import { MemoryLevel } from 'memory-level';
import type { FactRecord } from '../../src/domain/fact.js';
import { encodeLayerStats, layerStatsKey } from '../../src/encoding/retrieval-keys.js';
import { KeyspaceReader, type LevelSublevel } from '../../src/store/level-types.js';
import { type DocumentChange, LayerStatsCache, retrievalOps } from '../../src/store/retrieval-writes.js';

const record = (metadata: Record<string, unknown> | null = null): FactRecord => ({
  version: 1, createdAt: 1000, updatedAt: 1000, confidence: 1, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata,
});

async function both(changes: DocumentChange[]) {
  const level = new MemoryLevel<string, string>();
  const sub = level.sublevel<string, string>('t', { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as LevelSublevel;
  const statValues = new Map<number, string>([[0, encodeLayerStats(5, 20)], [3, encodeLayerStats(1, 4)]]);
  for (const [layer, value] of statValues) await sub.put(layerStatsKey(layer), value);
  const cache = new LayerStatsCache();
  cache.learn(statValues);
  const keyspace = new KeyspaceReader(sub);
  const plain = (r: Awaited<ReturnType<typeof retrievalOps>>) => ({
    ops: r.ops.map((op) => [op.type, op.key, op.type === 'put' ? op.value : null]),
    vectors: r.vectors.map((v) => [v.layer, v.group, v.vector === null ? null : [...v.vector]]),
    stats: [...r.stats],
  });
  const general = plain(await retrievalOps(keyspace, sub, changes, null));
  const cached = plain(await retrievalOps(keyspace, sub, changes, cache));
  await level.close();
  return { general, cached };
}

test('retrieval writes › new facts with known statistics › the shortcut writes what the general case writes', async (t) => {
  const changes: DocumentChange[] = [
    { key: { predicate: 'seen', args: ['w1', 7], negated: false }, layer: 0, record: record(), vectorFrom: [], fresh: true },
    { key: { predicate: 'incident', args: ['billingOutage', 'eu-west'], negated: true }, layer: 3, record: record({ note: 'Customers saw 42 errors' }), vectorFrom: [], fresh: true },
    { key: { predicate: 'doc', args: ['a'], negated: false }, layer: 0, record: record(), embedding: Float32Array.from([0.5, -1]), fresh: true },
    { key: { predicate: 'doc', args: ['b'], negated: false }, layer: 0, record: record(), embedding: null, fresh: true },
  ];
  const { general, cached } = await both(changes);
  t.deepEqual(cached, general);
  t.is(general.ops.filter(([type]) => type === 'put').length, general.ops.length, 'new facts only put');
  t.true(general.vectors.length === 1);
});

test('retrieval writes › a batch the shortcut does not take (a fact written twice, a stored one) › is still the general case', async (t) => {
  const twice: DocumentChange[] = [
    { key: { predicate: 'p', args: ['x'], negated: false }, layer: 0, record: record(), vectorFrom: [], fresh: true },
    { key: { predicate: 'p', args: ['x'], negated: false }, layer: 0, record: record({ v: 'second version' }), vectorFrom: [0], fresh: true },
  ];
  const stale: DocumentChange[] = [{ key: { predicate: 'p', args: ['y'], negated: false }, layer: 0, record: record(), vectorFrom: [0] }];
  for (const changes of [twice, stale]) {
    const { general, cached } = await both(changes);
    t.deepEqual(cached, general);
  }
});
