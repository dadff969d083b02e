import { rm } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { decodeIndexKey, decodeListingKey } from '../../src/encoding/fact-keys.js';
import { openRawLevel } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { type Api, type Reply, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { type FactReply, type Shape, askPages, expectStatus, factLine, linesByScope, scopeDetails, scopeLines } from './support.js';

/**
 * Scopes as layers: fork copies nothing, reads walk the chain, counts follow, deep chains read
 * right, diffs page, deletion removes the scope and the keys of the layers only it used.
 */
const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

let tenants = 0;
const newTenant = (prefix: string) => `${prefix}_${++tenants}_${process.pid}`;
const client = (server: TestServer, tenant: string): Api => tenantApi(server.url, tenant);

const tell = async (c: Api, body: unknown) => expectStatus(await c.post('/tell', body), 200, 'tell');
const retract = async (c: Api, body: unknown) => expectStatus(await c.post('/retract', body), 200, 'retract');
const fork = async (c: Api, source: string, target: string) => expectStatus(await c.post('/scope/fork', { source, target }), 201, `fork ${source}→${target}`);
const countsOf = async (c: Api) => Object.fromEntries((await scopeDetails(c)).map((d) => [d.name, d.facts]));

const ITEM: readonly Shape[] = [{ predicate: 'item', arity: 2 }];
const items = (from: number, to: number, confidence = 1) =>
  Array.from({ length: to - from }, (_, k) => ({ predicate: 'item', args: [from + k, 'v'], confidence }));

/** Every key of a tenant, raw, read from the storage (LevelDB directory or table) of a closed server. */
async function rawKeys(dataDir: string, tenant: string): Promise<string[]> {
  const raw = await openRawLevel(dataDir, 'default');
  try {
    const sub = raw.level.sublevel<string, string>(tenant, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    return await sub.keys().all();
  } finally {
    await raw.close();
  }
}

async function rawScopes(dataDir: string, tenant: string): Promise<Map<string, { chain: number[]; merges?: Record<string, number[]> }>> {
  const raw = await openRawLevel(dataDir, 'default');
  try {
    const sub = raw.level.sublevel<string, string>(tenant, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    const scopes = new Map<string, { chain: number[]; merges?: Record<string, number[]> }>();
    for (const value of await sub.values({ gte: 'S\x00', lt: 'S\x01' }).all()) {
      const record = JSON.parse(value) as { name: string; chain: number[]; merges?: Record<string, number[]> };
      scopes.set(record.name, record);
    }
    return scopes;
  } finally {
    await raw.close();
  }
}

/** The layer a fact key (X, L) or a layer count (N) belongs to; null for other keys. */
function layerOfKey(raw: string): number | null {
  if (raw.startsWith('X\x00')) return decodeIndexKey(raw).layer;
  if (raw.startsWith('L\x00')) return decodeListingKey(raw).layer;
  if (raw.startsWith('N\x00')) return Number.parseInt(raw.slice(2), 36);
  return null;
}

test('POST /scope/fork › when main holds 5,000 facts › the fork sees them all, copies none, and each side then changes alone', async (t) => {
  const server = await startTestServer();
  const tenant = newTenant('copy');
  try {
    const c = client(server, tenant);
    await tell(c, { facts: items(0, 5000) });
    const reply = await fork(c, 'main', 'child');
    t.deepEqual(reply.json, { scope: 'child', base: 'main' });
    t.deepEqual(await countsOf(c), { child: 5000, main: 5000 });
    t.is((await askPages(c, { predicate: 'item', args: ['?i', '?v'], scope: 'child' }, 1500)).length, 5000);

    // After the fork: a write in the parent is not seen by the child, a retraction in the child hides only there.
    await tell(c, { facts: [...items(5000, 5001), ...items(0, 1, 0.5)] });
    await retract(c, { predicate: 'item', args: [1, 'v'], scope: 'child' });
    const child = await scopeLines(c, 'child', ITEM);
    const main = await scopeLines(c, 'main', ITEM);
    t.is(child.length, 4999);
    t.is(main.length, 5001);
    t.true(child.includes('item(0,v)@1') && !child.includes('item(5000,v)@1') && !child.includes('item(1,v)@1'));
    t.true(main.includes('item(0,v)@0.5') && main.includes('item(5000,v)@1') && main.includes('item(1,v)@1'));
    t.deepEqual(await countsOf(c), { child: 4999, main: 5001 });
    t.deepEqual((await scopeDetails(c)).map((d) => [d.name, d.base]), [['child', 'main'], ['main', null]]);
  } finally {
    await server.close({ keepData: true });
  }
  // On disk: the 5,000 facts once (2 index keys each, arity 2), plus only what was written after the fork.
  const keys = await rawKeys(server.dataDir, tenant);
  const index = keys.filter((k) => k.startsWith('X\x00'));
  const listed = keys.filter((k) => k.startsWith('L\x00'));
  t.is(index.length, 5000 * 2 + 3 * 2, 'root facts + 2 writes in main + 1 tombstone in the child');
  t.is(listed.length, 3, 'each post-fork write is listed in its layer');
  await rm(server.dataDir, { recursive: true, force: true });
});

test('POST /ask › when no scope is given › every scope answers with its own facts; distinct folds the same fact', async (t) => {
  const c = client(t.context.server, newTenant('all'));
  await tell(c, { facts: [{ predicate: 'p', args: ['a'] }, { predicate: 'p', args: ['b'] }] });
  await fork(c, 'main', 'x');
  await tell(c, { scope: 'x', facts: [{ predicate: 'p', args: ['c'], confidence: 0.5 }] });
  await retract(c, { predicate: 'p', args: ['a'], scope: 'x' });
  await fork(c, 'main', 'y');
  const shapes: Shape[] = [{ predicate: 'p', arity: 1 }];
  const byScope = await linesByScope(c, shapes);
  t.deepEqual(Object.fromEntries(byScope), {
    main: ['p(a)@1', 'p(b)@1'],
    x: ['p(b)@1', 'p(c)@0.5'],
    y: ['p(a)@1', 'p(b)@1'],
  });
  // Paged one result at a time, the same six answers come back (several scopes share one index position).
  const paged = await askPages(c, { predicate: 'p', args: ['?v'] }, 1);
  t.deepEqual(paged.map((f) => `${f.scope}:${factLine(f)}`).sort(), [...byScope].flatMap(([s, lines]) => lines.map((l) => `${s}:${l}`)).sort());
  const distinct = await askPages(c, { predicate: 'p', args: ['?v'], distinct: true });
  t.deepEqual(distinct.map((f) => f.args[0]).sort(), ['a', 'b', 'c']);
  const distinctPaged = await askPages(c, { predicate: 'p', args: ['?v'], distinct: true }, 1);
  t.deepEqual(distinctPaged.map((f) => f.args[0]).sort(), ['a', 'b', 'c']);
});

test('POST /scope/fork › when scopes are forked 20 deep, each with changes › every level reads its own state', async (t) => {
  const c = client(t.context.server, newTenant('deep'));
  const shapes: Shape[] = [
    { predicate: 'shared', arity: 1 },
    { predicate: 'mark', arity: 1 },
    { predicate: 'late', arity: 1 },
  ];
  // A plain model: each scope a map of line-key → line; fork copies it.
  const model = new Map<string, Map<string, string>>();
  const write = (scope: string, key: string, line: string | null) => {
    const facts = model.get(scope) as Map<string, string>;
    if (line === null) facts.delete(key);
    else facts.set(key, line);
  };
  await tell(c, { facts: [0, 1, 2, 3].map((i) => ({ predicate: 'shared', args: [i] })) });
  model.set('main', new Map([0, 1, 2, 3].map((i) => [`shared(${i})`, `shared(${i})@1`])));
  let parent = 'main';
  for (let level = 1; level <= 20; level++) {
    const scope = `level${level}`;
    await fork(c, parent, scope);
    model.set(scope, new Map(model.get(parent)));
    // The child: a mark of its own, the previous mark gone, shared(1..3) re-weighted, shared(0) flipped on level 10.
    const confidence = Math.round((level / 20) * 100) / 100;
    const reweighted = 1 + (level % 3);
    await tell(c, { scope, facts: [{ predicate: 'mark', args: [level] }, { predicate: 'shared', args: [reweighted], confidence }] });
    write(scope, `mark(${level})`, `mark(${level})@1`);
    write(scope, `shared(${reweighted})`, `shared(${reweighted})@${confidence}`);
    await retract(c, { predicate: 'mark', args: [level - 1], scope });
    write(scope, `mark(${level - 1})`, null);
    if (level === 10) {
      await retract(c, { predicate: 'shared', args: [0], scope });
      await tell(c, { scope, predicate: 'shared', args: [0], negated: true });
      write(scope, 'shared(0)', '¬shared(0)@1');
    }
    // The parent after the fork: the child must not see it.
    await tell(c, { scope: parent, predicate: 'late', args: [level] });
    write(parent, `late(${level})`, `late(${level})@1`);
    parent = scope;
  }
  const counts = await countsOf(c);
  for (const [scope, facts] of model) {
    t.deepEqual(await scopeLines(c, scope, shapes), [...facts.values()].sort(), `scope ${scope}`);
    t.is(counts[scope], facts.size, `count of ${scope}`);
  }
  const all = await linesByScope(c, shapes);
  for (const [scope, facts] of model) t.deepEqual(all.get(scope) ?? [], [...facts.values()].sort(), `scope ${scope}, read with all scopes`);
});

interface DiffPage {
  readonly source: string;
  readonly target: string;
  readonly onlyInSource: FactReply[];
  readonly onlyInTarget: FactReply[];
  readonly inBoth: number;
  readonly conflicts: { predicate: string; args: unknown[]; source: FactReply; target: FactReply }[];
  readonly cursor: string | null;
}

test('POST /scope/diff › when 2,500 rows differ › paging with limit/cursor yields every row exactly once', async (t) => {
  const c = client(t.context.server, newTenant('diff'));
  const range = (predicate: string, n: number, confidence = 1) => Array.from({ length: n }, (_, i) => ({ predicate, args: [i], confidence }));
  await tell(c, { facts: [...range('u', 300), ...range('c', 500), ...range('d', 100)] });
  await fork(c, 'main', 'f');
  await tell(c, { scope: 'f', facts: [...range('s', 900), ...range('c', 500, 0.5)] });
  await retract(c, { predicate: 'd', args: ['?i'], scope: 'f' });
  await tell(c, { facts: range('t', 1000) });

  const seen = new Map<string, number>();
  const note = (row: string) => seen.set(row, (seen.get(row) ?? 0) + 1);
  let cursor: string | null = null;
  let pages = 0;
  let inBoth = Number.POSITIVE_INFINITY;
  do {
    const reply: Reply<DiffPage> = await c.post<DiffPage>('/scope/diff', { scopeA: 'f', scopeB: 'main', limit: 300, cursor });
    expectStatus(reply, 200, 'diff page');
    const page = reply.json;
    pages++;
    t.like(page, { source: 'f', target: 'main' });
    // Exact on the last page; before it an upper bound that only falls (the base not walked yet counts as unchanged).
    t.true(page.inBoth >= 300 && page.inBoth <= inBoth, `inBoth ${page.inBoth} after ${inBoth}`);
    inBoth = page.inBoth;
    if (page.cursor === null) t.is(page.inBoth, 300);
    t.true(page.onlyInSource.length + page.onlyInTarget.length + page.conflicts.length <= 300);
    for (const f of page.onlyInSource) note(`+${f.scope}:${f.predicate}(${f.args})`);
    for (const f of page.onlyInTarget) note(`-${f.scope}:${f.predicate}(${f.args})`);
    for (const x of page.conflicts) note(`!${x.source.confidence}/${x.target.confidence}:${x.predicate}(${x.args})`);
    cursor = page.cursor;
  } while (cursor !== null && pages < 100);
  t.is(pages, 9);
  t.is(seen.size, 2500);
  t.true([...seen.values()].every((n) => n === 1), 'no row twice');
  const expected = [
    ...Array.from({ length: 900 }, (_, i) => `+f:s(${i})`),
    ...Array.from({ length: 1000 }, (_, i) => `-main:t(${i})`),
    ...Array.from({ length: 100 }, (_, i) => `-main:d(${i})`),
    ...Array.from({ length: 500 }, (_, i) => `!0.5/1:c(${i})`),
  ];
  t.deepEqual([...seen.keys()].sort(), expected.sort());
  // A cursor belongs to its query.
  const first = await c.post('/scope/diff', { source: 'f', target: 'main', limit: 10 });
  assertError(t, await c.post('/scope/diff', { source: 'main', target: 'f', limit: 10, cursor: first.json.cursor }), 400, 'VALIDATION_ERROR');
});

test('DELETE /scope/{name} › when a fork is deleted › its facts are gone, it leaves the list, the parent is intact, the name is free', async (t) => {
  const c = client(t.context.server, newTenant('del'));
  const shapes: Shape[] = [{ predicate: 'p', arity: 1 }];
  await tell(c, { facts: [{ predicate: 'p', args: ['a'] }] });
  await fork(c, 'main', 'tmp');
  await tell(c, { scope: 'tmp', predicate: 'p', args: ['t'] });
  await retract(c, { scope: 'tmp', predicate: 'p', args: ['a'] });
  const reply = await c.request('DELETE', '/scope/tmp');
  t.is(reply.status, 200, reply.text);
  t.deepEqual(reply.json, { deleted: true, scope: 'tmp' });
  t.deepEqual((await c.post('/ask', { predicate: 'p', args: ['?x'], scope: 'tmp', infer: false })).json, { results: [] });
  t.deepEqual((await c.get('/scopes')).json.scopes, ['main']);
  t.is((await c.get('/scopes')).json.count, 1);
  t.deepEqual(await scopeLines(c, 'main', shapes), ['p(a)@1']);
  assertError(t, await c.request('DELETE', '/scope/tmp'), 404, 'NOT_FOUND');
  // The name is free again, and the new scope starts from main as it is now.
  await tell(c, { predicate: 'p', args: ['b'] });
  await fork(c, 'main', 'tmp');
  t.deepEqual(await scopeLines(c, 'tmp', shapes), ['p(a)@1', 'p(b)@1']);
  t.deepEqual(await countsOf(c), { main: 2, tmp: 2 });
});

test('scopes › when a request names scopes wrongly › fork to an existing name is 409, unknown scopes 404, main cannot be deleted', async (t) => {
  const c = client(t.context.server, newTenant('err'));
  await tell(c, { predicate: 'p', args: ['a'] });
  t.is((await c.post('/scope/fork', { sourceScope: 'main', targetScope: 'f' })).status, 201);
  assertError(t, await c.post('/scope/fork', { source: 'main', target: 'f' }), 409, 'CONFLICT');
  assertError(t, await c.post('/scope/fork', { source: 'main', target: 'main' }), 409, 'CONFLICT');
  assertError(t, await c.post('/scope/fork', { source: 'nope', target: 'g' }), 404, 'NOT_FOUND');
  assertError(t, await c.post('/scope/diff', { source: 'nope', target: 'main' }), 404, 'NOT_FOUND');
  assertError(t, await c.request('DELETE', '/scope/main'), 400, 'VALIDATION_ERROR');
  assertError(t, await c.request('DELETE', '/scope/nope'), 404, 'NOT_FOUND');
  assertError(t, await c.post('/scope/fork', { source: 'main', target: '../etc' }), 400, 'VALIDATION_ERROR');
  t.deepEqual((await c.get('/scopes')).json.scopes, ['f', 'main']);
});

test('DELETE /scope/{name} › when the server is reopened › no key of a deleted layer remains on disk', async (t) => {
  const tenant = newTenant('gc');
  let fLayers = new Set<number>();
  let hLayers = new Set<number>();
  let server = await startTestServer();
  const dataDir = server.dataDir;
  try {
    let c = client(server, tenant);
    await tell(c, { facts: Array.from({ length: 50 }, (_, i) => ({ predicate: 'p', args: [i] })) });
    await fork(c, 'main', 'f');
    await tell(c, { scope: 'f', facts: Array.from({ length: 30 }, (_, i) => ({ predicate: 'fonly', args: [i] })) });
    await retract(c, { scope: 'f', predicate: 'p', args: [0] });
    // A second fork, merged into main (main then keeps h's state as its next merge base), and one kept.
    await fork(c, 'main', 'h');
    await tell(c, { scope: 'h', facts: [{ predicate: 'honly', args: [1] }] });
    expectStatus(await c.post('/scope/merge', { source: 'h', target: 'main', strategy: 'SOURCE_WINS' }), 200, 'merge');
    await tell(c, { scope: 'h', facts: [{ predicate: 'honly', args: [2] }] });
    await fork(c, 'main', 'kept');
    await server.close({ keepData: true });

    const before = await rawScopes(dataDir, tenant);
    fLayers = new Set(before.get('f')?.chain ?? []);
    hLayers = new Set(before.get('h')?.chain ?? []);
    for (const name of ['main', 'kept']) {
      for (const layer of before.get(name)?.chain ?? []) {
        fLayers.delete(layer);
        hLayers.delete(layer);
      }
    }
    t.true(fLayers.size >= 1 && hLayers.size >= 1, 'f and h have layers of their own');

    server = await startTestServer({}, { dataDir });
    c = client(server, tenant);
    expectStatus(await c.request('DELETE', '/scope/f'), 200, 'delete f');
    expectStatus(await c.request('DELETE', '/scope/h'), 200, 'delete h');
    t.deepEqual((await c.get('/scopes')).json.scopes, ['kept', 'main']);
    const main = await scopeLines(c, 'main', [{ predicate: 'p', arity: 1 }, { predicate: 'honly', arity: 1 }]);
    t.is(main.length, 51, "main keeps its facts and h's merged one");
  } finally {
    await server.close({ keepData: true });
  }
  const keys = await rawKeys(dataDir, tenant);
  const after = await rawScopes(dataDir, tenant);
  const inUse = new Set<number>();
  for (const record of after.values()) {
    record.chain.forEach((l) => inUse.add(l));
    for (const chain of Object.values(record.merges ?? {})) chain.forEach((l) => inUse.add(l));
  }
  const orphans = keys.filter((k) => {
    const layer = layerOfKey(k);
    return layer !== null && !inUse.has(layer);
  });
  t.deepEqual(orphans, [], 'every fact, listing and count key belongs to a layer some scope uses');
  const deleted = new Set([...fLayers, ...hLayers]);
  t.deepEqual(keys.filter((k) => deleted.has(layerOfKey(k) ?? -1)), [], 'no key of the layers of f and h');
  t.false(keys.some((k) => k.startsWith('X\x00fonly\x00')), "no index key of f's facts");
  t.false(
    keys.some((k) => k.startsWith('X\x00honly\x00') && decodeIndexKey(k).args[0] === 2),
    'no index key of what h wrote after its merge',
  );
  await rm(dataDir, { recursive: true, force: true });
});
