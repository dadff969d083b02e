// The exact cache of small range reads (src/store/range-cache.ts): a repeated point read skips the
// iterator, and no write of any kind, nor a read racing a write, ever lets a reader see a stale row.
import test from 'ava';
import { MemoryLevel } from 'memory-level';
import type { FactPattern } from '../../src/domain/fact.js';
import { forkScope } from '../../src/scopes/lifecycle.js';
import type { TenantReads, TenantStore } from '../../src/store/tenant-store.js';
import { fact, memoryCatalog } from './support.js';

/** Count the iterators opened on a memory level (a cached read opens none). */
function countIterators(level: MemoryLevel<string, string>): { readonly count: number } {
  const counter = { count: 0 };
  const target = level as unknown as { _iterator: (...args: unknown[]) => unknown };
  const original = target._iterator.bind(level);
  target._iterator = (...args: unknown[]) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

const point = (subject: string): FactPattern => ({ predicate: 'p', args: [subject, undefined], negated: false });

/** What a pattern matches in a scope (null: every scope), as sorted strings. */
async function matches(reads: TenantReads, pattern: FactPattern, now: number, scope: string | null = null): Promise<string[]> {
  const view = reads.view(scope);
  if (view === null) return [];
  const out: string[] = [];
  for await (const { fact: f } of reads.match(view, pattern, { now })) out.push(`${f.scope}:${f.args.join(',')}:v${f.version}`);
  return out.sort();
}

/** The same read through a reader (cache) and through a transaction (never cached, current state). */
async function bothWays(tenant: TenantStore, pattern: FactPattern, now: number, scope: string | null = null): Promise<[string[], string[]]> {
  const cached = await tenant.read(now, (reads) => matches(reads, pattern, now, scope));
  const fresh = await tenant.transaction(now, (tx) => matches(tx, pattern, now, scope));
  return [cached, fresh];
}

test('range cache › a repeated point read › opens no iterator and gives the same rows', async (t) => {
  const { catalog, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a', 'x'), fact('p', 'a', 'y'), fact('p', 'b', 'z')], now);
  const iterators = countIterators(levels.get('default')!);
  const first = await tenant.read(now, (reads) => matches(reads, point('a'), now));
  const opened = iterators.count;
  const again = await tenant.read(now, (reads) => matches(reads, point('a'), now));
  const estimate = await tenant.read(now, (reads) => reads.estimate(point('a')));
  t.deepEqual(first, ['main:a,x:v1', 'main:a,y:v1']);
  t.deepEqual(again, first);
  t.is(estimate, 2 * 1, 'the estimate of a cached range counts its index rows');
  t.is(iterators.count, opened, 'neither the second read nor the estimate opened an iterator');
  const other = await tenant.read(now, (reads) => matches(reads, point('b'), now));
  t.deepEqual(other, ['main:b,z:v1']);
  t.is(iterators.count, opened, 'the first read read the small predicate ahead: another subject opens no iterator either');
  await catalog.close();
});

test('range cache › a predicate too large to read ahead › point reads are exact, and cached per range', async (t) => {
  const { catalog, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell(Array.from({ length: 300 }, (_, i) => fact('p', `s${i % 150}`, `o${i}`)), now);
  const iterators = countIterators(levels.get('default')!);
  for (const subject of ['s0', 's77', 's149', 'absent']) {
    const [cached, fresh] = await bothWays(tenant, point(subject), now);
    t.deepEqual(cached, fresh, subject);
    t.is(cached.length, subject === 'absent' ? 0 : 2);
  }
  const before = iterators.count;
  t.deepEqual(await tenant.read(now, (reads) => matches(reads, point('s77'), now)), ['main:s77,o227:v1', 'main:s77,o77:v1']);
  t.is(iterators.count, before, 'the range of s77 was cached by its first read');
  const all = await tenant.read(now, (reads) => matches(reads, { predicate: 'p', args: [undefined, undefined], negated: false }, now));
  t.is(all.length, 300, 'a whole large rotation is read in full');
  await tenant.tell([fact('p', 's77', 'late')], now);
  t.deepEqual((await bothWays(tenant, point('s77'), now))[0], ['main:s77,late:v1', 'main:s77,o227:v1', 'main:s77,o77:v1']);
  await catalog.close();
});

test('range cache › after every kind of write › a reader sees exactly the current state', async (t) => {
  const { catalog } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  let now = Date.now();
  const check = async (what: string, scope: string | null = null) => {
    for (const subject of ['a', 'b']) {
      const [cached, fresh] = await bothWays(tenant, point(subject), now, scope);
      t.deepEqual(cached, fresh, `${what}: p(${subject}, ?) in ${scope ?? 'every scope'}`);
      // Read twice: the second read is the cached one.
      t.deepEqual((await bothWays(tenant, point(subject), now, scope))[0], fresh, `${what}: p(${subject}, ?) again`);
    }
  };
  await tenant.tell([fact('p', 'a', 'x')], now);
  await check('first tell');
  await tenant.tell([fact('p', 'a', 'y'), fact('p', 'b', 'y')], now);
  await check('second tell');
  await tenant.tell([{ ...fact('p', 'a', 'x'), confidence: 0.5 }], now);
  await check('an update (version 2)');
  await tenant.retract('main', { predicate: 'p', args: ['a', 'y'], negated: false }, now);
  await check('a retraction');
  await tenant.transaction(now, async (tx) => forkScope(tx.scopes, 'main', 'side', tx.now));
  await check('a fork', 'side');
  await tenant.tell([{ ...fact('p', 'a', 'only-side'), scope: 'side' }], now);
  await check('a tell into the fork', 'side');
  await check('a tell into the fork, every scope');
  await tenant.retract('side', { predicate: 'p', args: ['a', 'x'], negated: false }, now);
  await check('a tombstone in the fork', 'side');
  await check('a tombstone in the fork, main', 'main');
  await tenant.tell([{ ...fact('p', 'b', 'brief'), ttl: 1000 }], now);
  await check('a fact with a ttl');
  now += 2000;
  await check('the ttl ran out (no write: time alone)');
  const failed = await tenant.tell([{ ...fact('p', 'a', 'x'), negated: true }], now).catch((error: unknown) => error);
  t.true(failed instanceof Error, 'telling NOT p(a, x) while p(a, x) holds is refused');
  await check('a refused tell');
  await (await catalog.forWrite('default')).database.clearTenant('t');
  const reborn = (await catalog.forWrite('default')).database.tenant('t');
  const afterClear = await reborn.read(now, (reads) => matches(reads, point('a'), now));
  t.deepEqual(afterClear, [], 'a cleared (deleted) tenant has no cached rows left');
  await catalog.close();
});

test('range cache › a reader pinned before a write › keeps its own state and fills nothing stale', async (t) => {
  const { catalog } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a', 'old')], now);
  await tenant.read(now, (reads) => matches(reads, point('a'), now)); // cached at this state
  const seenByOld = await tenant.read(now, async (reads) => {
    const before = await matches(reads, point('a'), now);
    await tenant.tell([fact('p', 'a', 'new')], now); // lands while this reader is open
    const after = await matches(reads, point('a'), now);
    const other = await matches(reads, { predicate: 'p', args: [undefined, undefined], negated: false }, now);
    return { before, after, other };
  });
  t.deepEqual(seenByOld.before, ['main:a,old:v1']);
  t.deepEqual(seenByOld.after, ['main:a,old:v1'], 'one snapshot: the reader still sees its own state');
  t.deepEqual(seenByOld.other, ['main:a,old:v1'], 'an uncached range read by the old reader sees the old state too');
  const [cached, fresh] = await bothWays(tenant, { predicate: 'p', args: [undefined, undefined], negated: false }, now);
  t.deepEqual(fresh, ['main:a,new:v1', 'main:a,old:v1']);
  t.deepEqual(cached, fresh, 'the old reader did not leave its rows for the readers after the write');
  t.deepEqual((await bothWays(tenant, point('a'), now))[0], fresh);
  await catalog.close();
});

test('range cache › a reader that starts while a write is in flight › sees one state, and later readers the new one', async (t) => {
  const { catalog, levels } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a', 'old')], now);
  await tenant.read(now, (reads) => matches(reads, point('a'), now));
  const level = levels.get('default')!;
  let during: Promise<string[][]> | null = null;
  level.hooks.prewrite.add(() => {
    // In the middle of the commit's batch: read the range twice (cached, if the cache were on).
    during ??= tenant.read(now, async (reads) => [await matches(reads, point('a'), now), await matches(reads, point('a'), now)]);
  });
  await tenant.tell([fact('p', 'a', 'new')], now);
  const [first, second] = await during!;
  t.deepEqual(first, second, 'one state within the reader');
  t.true(['main:a,old:v1', 'main:a,new:v1,main:a,old:v1'].includes(String(first)), `either state, whole: ${String(first)}`);
  const [cached, fresh] = await bothWays(tenant, point('a'), now);
  t.deepEqual(fresh, ['main:a,new:v1', 'main:a,old:v1']);
  t.deepEqual(cached, fresh);
  await catalog.close();
});

test('range cache › a point read taken at once (matchNow) › gives exactly the rows of a fresh read, for subjects that share prefixes, in every scope', async (t) => {
  const { catalog } = await memoryCatalog();
  const tenant = (await catalog.forWrite('default')).database.tenant('t');
  const now = Date.now();
  // Subjects whose encodings are prefixes of one another, and a ternary predicate (a longer prefix than the first argument).
  const subjects = ['a', 'ab', 'abc', 'b', 'a b', 'é', 'ä', '1'];
  await tenant.tell(subjects.flatMap((s, i) => [fact('p', s, `o${i}`), fact('p', s, `q${i}`), fact('r', s, `x${i}`, 'y')]), now);
  await tenant.transaction(now, async (tx) => forkScope(tx.scopes, 'main', 'f', tx.now));
  await tenant.tell([{ ...fact('p', 'ab', 'in-fork'), scope: 'f' }], now);
  const patterns: FactPattern[] = [
    ...subjects.map(point),
    point('absent'),
    { predicate: 'p', args: [undefined, 'o1'], negated: false },
    { predicate: 'r', args: ['ab', 'x1', undefined], negated: false },
    { predicate: 'r', args: ['ab', undefined, undefined], negated: false },
    { predicate: 'r', args: [undefined, undefined, 'y'], negated: false },
  ];
  for (const scope of [null, 'main', 'f']) {
    for (const pattern of patterns) {
      const fresh = await tenant.transaction(now, (tx) => matches(tx, pattern, now, scope));
      const atOnce = await tenant.read(now, async (reads) => {
        await matches(reads, pattern, now, scope); // fills the cache
        const view = reads.view(scope);
        const rows = view === null ? [] : reads.matchNow(view, pattern, { now });
        return rows === undefined ? null : rows.map(({ fact: f }) => `${f.scope}:${f.args.join(',')}:v${f.version}`).sort();
      });
      t.not(atOnce, null, `${JSON.stringify(pattern.args)} in ${scope}: served from the cache`);
      t.deepEqual(atOnce, fresh, `${JSON.stringify(pattern.args)} in ${scope}`);
    }
  }
  await catalog.close();
});
