// Issue 12: "/scope/diff between unrelated roots scans the whole tenant whatever the limit". A page
// now reads what it sends (raw reads counted at the database, under everything Vesper does).
import test from 'ava';
import { ScopeService } from '../../src/service/scopes.js';
import { fact, memoryCatalog } from '../store/support.js';

type Raw = { _getMany: Function; _iterator: Function; _keys: Function };

/** Counts every raw entry a database hands out: iterator entries (one at a time or in batches) and multi-get keys. */
function countRawReads(level: Raw) {
  const count = { reads: 0 };
  const getMany = level._getMany.bind(level);
  level._getMany = (keys: unknown[], ...rest: unknown[]) => {
    count.reads += keys.length;
    return getMany(keys, ...rest);
  };
  for (const method of ['_iterator', '_keys'] as const) {
    const open = level[method].bind(level);
    level[method] = (...args: unknown[]) => {
      const iterator = open(...args);
      const next = iterator._next.bind(iterator);
      const nextv = iterator._nextv.bind(iterator);
      iterator._next = async (...rest: unknown[]) => {
        const entry = await next(...rest);
        if (entry !== undefined) count.reads++;
        return entry;
      };
      iterator._nextv = async (...rest: unknown[]) => {
        const entries = await nextv(...rest);
        count.reads += entries.length;
        return entries;
      };
      return iterator;
    };
  }
  return count;
}

async function setup(size: number) {
  const store = await memoryCatalog();
  let now = 1_000_000;
  const clock = () => now++;
  const scopes = new ScopeService(store.catalog, clock, store.background);
  const tenant = (await store.catalog.forWrite('default')).database.tenant('roots');
  // Two unrelated roots (a scope first named by a write is a root), binary facts (rotated index
  // entries the walk must skip), and a third root the diff does not name, its keys interleaved
  // with theirs (the walk passes over them: a constant factor, see the README on diff costs).
  await tenant.tell(Array.from({ length: size }, (_, i) => fact('edge', `a${i}`, i)), clock());
  await tenant.tell(Array.from({ length: size }, (_, i) => ({ ...fact('edge', `b${i}`, i), scope: 'side' })), clock());
  await tenant.tell(Array.from({ length: size }, (_, i) => ({ ...fact('edge', `a${i}_`, i), scope: 'other' })), clock());
  const count = countRawReads(store.levels.get('default') as never);
  return { ...store, scopes, count, address: { database: 'default', tenant: 'roots' } };
}

test('POST /scope/diff › between unrelated roots of 3 × 1,000 facts, limit 20 › every page reads O(limit) rows, the last as the first', async (t) => {
  const { catalog, scopes, count, address } = await setup(1000);
  const limit = 20;
  const perPage: number[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  let pages = 0;
  do {
    count.reads = 0;
    const page = await scopes.diff(address, 'side', 'main', limit, cursor);
    perPage.push(count.reads);
    for (const f of [...page.onlyInSource, ...page.onlyInTarget]) seen.add(`${f.scope}:${String(f.args[0])}`);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null && pages < 400);
  t.is(seen.size, 2000, 'every row of both roots');
  t.is(pages, 100, 'every page full, none repeated');
  const worst = Math.max(...perPage);
  // The walk's read-ahead (one chunk past the page, doubling) plus one multi-get of the page's keys
  // in each layer of both chains: a constant times the limit. A scan would read ≥ 3,000 × 2 entries.
  t.log(`raw reads per page: ${Math.min(...perPage)} … ${worst}`);
  t.true(worst <= 12 * limit, `raw reads per page: ${perPage.join(', ')}`);
  await catalog.close();
});

test('POST /scope/diff › a page after a cursor › reads no row before the cursor (the old form read the whole index per page)', async (t) => {
  const { catalog, scopes, count, address } = await setup(1000);
  const first = await scopes.diff(address, 'side', 'main', 10, null);
  count.reads = 0;
  const whole = await scopes.diff(address, 'side', 'main', 2000, null);
  const wholeReads = count.reads;
  t.is(whole.onlyInSource.length + whole.onlyInTarget.length, 2000);
  t.is(whole.cursor, null);
  t.is(whole.inBoth, 0);
  count.reads = 0;
  const second = await scopes.diff(address, 'side', 'main', 10, first.cursor);
  t.true(count.reads * 50 < wholeReads, `page: ${count.reads} raw reads, whole diff: ${wholeReads}`);
  t.is(second.onlyInSource.length + second.onlyInTarget.length, 10);
  await catalog.close();
});
