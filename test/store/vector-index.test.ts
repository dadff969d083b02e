// The approximate index of one layer (src/store/vector-index.ts) and the registry of indexed
// tenants: filled in slices, follows the live map (new, replaced, removed and zero vectors), and
// the least recently searched tenant loses its indexes beyond the cap; a worn index is replaced.
import test from 'ava';
import { MemoryLevel } from 'memory-level';
import { KeyspaceReader } from '../../src/store/level-types.js';
import { type CachedVector, VectorCache } from '../../src/store/vector-cache.js';
import { type IndexedTenant, LayerVectorIndex, type VectorIndexOptions, VectorIndexes } from '../../src/store/vector-index.js';

const OPTIONS: VectorIndexOptions = { threshold: 10, maxTenants: 2, connectivity: 16, expansionAdd: 64, expansionSearch: 32, overFetch: 4, sliceMs: 2 };
const DIM = 16;

/** A deterministic unit-ish vector (a small LCG: the same corpus every run). */
function vectorOf(seed: number): Float32Array {
  let s = seed * 2654435761 + 1;
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  return v;
}

function cached(group: string, vector: Float32Array): CachedVector {
  let sum = 0;
  for (const x of vector) sum += x * x;
  return { group, key: { predicate: 'p', args: [group], negated: false }, vector, norm: Math.sqrt(sum) };
}

/** Slices run on later turns (as the background runner would); counts how many ran. */
function scheduler(): { schedule: (slice: () => Promise<void>) => boolean; slices: number } {
  const state = {
    slices: 0,
    schedule: (slice: () => Promise<void>) => {
      setImmediate(() => {
        state.slices++;
        void slice();
      });
      return true;
    },
  };
  return state;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition not met');
}

function layerOf(n: number): Map<string, CachedVector> {
  return new Map(Array.from({ length: n }, (_, i) => [`g${i}`, cached(`g${i}`, vectorOf(i))]));
}

test('LayerVectorIndex › fills in slices, then answers the nearest vector first among its candidates', async (t) => {
  const live = layerOf(600);
  const slices = scheduler();
  const index = new LayerVectorIndex(DIM, live, OPTIONS, slices.schedule);
  t.false(index.ready, 'not ready before the first slice ran');
  await until(() => index.ready);
  t.true(slices.slices > 1, `filled over several turns (${slices.slices} slices)`);
  t.is(index.size, 600);
  t.is(index.backlog, 0);
  const groups = index.candidates(vectorOf(123), 5).map((c) => c.group);
  t.is(groups[0], 'g123', 'the vector itself is its own nearest');
  t.true(groups.length >= OPTIONS.expansionSearch, 'at least expansionSearch candidates are asked');
});

test('LayerVectorIndex › a changed vector is answered at once with its new value; a removed one never', async (t) => {
  const live = layerOf(200);
  const index = new LayerVectorIndex(DIM, live, OPTIONS, scheduler().schedule);
  await until(() => index.ready);
  // g5 moves to where g77 is; g77 is removed from the layer.
  live.set('g5', cached('g5', vectorOf(77)));
  index.changed('g5');
  live.delete('g77');
  index.changed('g77');
  const now = index.candidates(vectorOf(77), 5);
  t.true(now.some((c) => c.group === 'g5' && c.vector[0] === vectorOf(77)[0]), 'pending: compared with its new vector before the graph learns it');
  t.false(now.some((c) => c.group === 'g77'));
  await until(() => index.backlog === 0);
  const later = index.candidates(vectorOf(77), 5);
  t.is(later[0]?.group, 'g5', 'the graph now holds the new vector');
  t.false(later.some((c) => c.group === 'g77'), 'the removed label is gone');
  t.is(later.filter((c) => c.group === 'g5').length, 1, 'the old label of g5 is not answered as well');
});

test('LayerVectorIndex › a zero vector stays outside the graph and is always a candidate', async (t) => {
  const live = layerOf(50);
  live.set('zero', cached('zero', new Float32Array(DIM)));
  const index = new LayerVectorIndex(DIM, live, OPTIONS, scheduler().schedule);
  await until(() => index.ready);
  t.is(index.size, 50);
  t.true(index.candidates(vectorOf(3), 1).some((c) => c.group === 'zero'));
});

test('LayerVectorIndex › closed: stops filling and is never ready', async (t) => {
  const live = layerOf(3000);
  const index = new LayerVectorIndex(DIM, live, OPTIONS, scheduler().schedule);
  await new Promise((resolve) => setImmediate(resolve));
  index.close();
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  t.false(index.ready);
  t.true(index.size < 3000, 'filling stopped');
});

test('VectorIndexes › beyond maxTenants the least recently touched tenant is released; stats count indexes and paths', (t) => {
  const registry = new VectorIndexes(OPTIONS);
  const released: string[] = [];
  const tenant = (name: string): IndexedTenant => ({ release: () => released.push(name), indexes: () => [] });
  const a = tenant('a');
  const b = tenant('b');
  const c = tenant('c');
  registry.touch('a', a);
  registry.touch('b', b);
  registry.touch('a', a); // a is the most recent now
  registry.touch('c', c);
  t.deepEqual(released, ['b']);
  t.true(registry.holds('a', a));
  t.false(registry.holds('b', b));
  const a2 = tenant('a2');
  registry.touch('a', a2);
  t.deepEqual(released, ['b', 'a'], 'a newer handle of the same tenant replaces the older one');
  registry.counted('approximate');
  registry.counted('exact');
  registry.counted('exact');
  t.like(registry.stats(), { tenants: 2, ready: 0, building: 0, approximateSearches: 1, exactSearches: 2 });
});

test('VectorCache › an index worn by replaced vectors is rebuilt beside it, and the fresh one takes over', async (t) => {
  const level = new MemoryLevel<string, string>();
  const sub = level.sublevel<string, string>('t', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const indexes = new VectorIndexes(OPTIONS);
  const cache = new VectorCache({ indexes, key: 'db\u0000t', schedule: scheduler().schedule });
  const layer = 1;
  const vectors = await cache.layer(new KeyspaceReader(sub as never), layer);
  const n = 1100;
  const write = (round: number) =>
    cache.apply(Array.from({ length: n }, (_, i) => ({ layer, group: `g${i}`, key: { predicate: 'p', args: [`g${i}`], negated: false }, vector: vectorOf(i + round * n) })));
  write(0);
  t.is(cache.indexOf(layer, vectors), null, 'the first search starts the build and is answered exactly');
  await until(() => cache.indexOf(layer, vectors) !== null);
  const first = cache.indexOf(layer, vectors);
  for (const round of [1, 2]) {
    write(round);
    await until(() => first?.backlog === 0);
  }
  t.true(first?.worn, 'every vector replaced twice: more removed labels than live ones');
  t.is(cache.indexOf(layer, vectors), first, 'the worn index answers while the fresh one fills');
  t.is(indexes.stats().building, 1);
  await until(() => cache.indexOf(layer, vectors) !== first);
  const fresh = cache.indexOf(layer, vectors);
  t.false(fresh?.worn);
  t.is(fresh?.size, n);
  t.false(first?.ready, 'the worn index was closed');
  t.is(fresh?.candidates(vectorOf(5 + 2 * n), 1)[0]?.group, 'g5', 'the fresh index holds the latest vectors');
  t.like(indexes.stats(), { tenants: 1, ready: 1, building: 0, vectors: n });
  await level.close();
});
