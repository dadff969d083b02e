// PostgresLevel beyond abstract-level's own suite (npm run test:pg-conformance): LevelDB's key order,
// batches, snapshots against writes in flight, the primary found among several hosts, and Vesper's
// store running on it. Needs a server: `npm run pg:up`, then VESPER_TEST_PG_URL=<the URL it prints>.
import { basename } from 'node:path';
import test from 'ava';
import { type FactInput, MAIN_SCOPE } from '../../src/domain/fact.js';
import { PgClient } from '../../src/store/backends/pg-client.js';
import { PostgresLevel } from '../../src/store/backends/postgres-level.js';
import { PgStorage } from '../../src/store/backends/pg-storage.js';
import { Catalog } from '../../src/store/catalog.js';
import { dropTablesWithPrefix } from './pg-fixtures.js';

const url = process.env.VESPER_TEST_PG_URL || undefined;
const prefix = `t_${Date.now().toString(36)}_`;
const clients: PgClient[] = [];
let databases = 0;

function client(overrides: { url?: string } = {}): PgClient {
  const made = new PgClient({ url: overrides.url ?? url ?? '', tablePrefix: prefix, poolSize: 4, snapshotPoolSize: 4 });
  clients.push(made);
  return made;
}

async function freshDb(): Promise<PostgresLevel<Buffer, Buffer>> {
  const db = new PostgresLevel<Buffer, Buffer>(client(), `db${databases++}`, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

const pgTest = url ? test.serial : test.skip;
if (!url) test.skip('PostgreSQL tests › VESPER_TEST_PG_URL is not set › skipped (npm run pg:up prints the URL to set)', () => {});

test.after.always(async () => {
  // End every pool first: a snapshot left open by a failed test would hold a lock that DROP TABLE waits for.
  await Promise.all(clients.map((c) => c.end()));
  if (!url) return;
  const cleanup = new PgClient({ url, tablePrefix: prefix });
  await dropTablesWithPrefix(cleanup, prefix);
  await cleanup.end();
});

test('PgClient.tableName › names that differ only by case or punctuation › distinct identifiers of at most 63 bytes', (t) => {
  const names = ['default', 'Default', 'a.b', 'a-b', 'a_b', '_system', 'x'.repeat(64)];
  const tables = names.map((name) => new PgClient({ url: 'postgres://nobody@127.0.0.1:1/none', tablePrefix: 'vesper_' }).tableName(name));
  t.is(new Set(tables).size, names.length);
  for (const table of tables) t.regex(table, /^vesper_[a-z0-9_]{1,32}_[0-9a-f]{12}$/);
  for (const table of tables) t.true(Buffer.byteLength(table) <= 63);
});

pgTest('PostgresLevel iterator › keys with 0x00, 0xff and shared prefixes › the order of Buffer.compare, both ways, in ranges across pages', async (t) => {
  const db = await freshDb();
  const alphabet = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
  const keys = new Map<string, Buffer>();
  for (let i = 0; keys.size < 300; i++) {
    const key = Buffer.from(Array.from({ length: 1 + (i % 4) }, (_, j) => alphabet[(i * 7 + j * 13 + Math.floor(i / 5)) % alphabet.length] ?? 0));
    keys.set(key.toString('hex'), key);
    if (i > 10_000) break;
  }
  const sorted = [...keys.values()].sort(Buffer.compare);
  await db.batch(sorted.map((key) => ({ type: 'put' as const, key, value: key })));
  t.deepEqual(await db.keys().all(), sorted);
  t.deepEqual(await db.keys({ reverse: true }).all(), [...sorted].reverse());
  const [low, high] = [sorted[40] ?? Buffer.alloc(0), sorted[250] ?? Buffer.alloc(0)];
  const inRange = sorted.filter((k) => Buffer.compare(k, low) >= 0 && Buffer.compare(k, high) < 0);
  t.deepEqual(await db.keys({ gte: low, lt: high }).all(), inRange);
  t.deepEqual(await db.keys({ gte: low, lt: high, reverse: true, limit: 100 }).all(), [...inRange].reverse().slice(0, 100));
  const stepped: Buffer[] = [];
  for await (const key of db.keys({ gt: low, lte: high })) stepped.push(key);
  t.deepEqual(stepped, sorted.filter((k) => Buffer.compare(k, low) > 0 && Buffer.compare(k, high) <= 0));
  await db.close();
});

pgTest('PostgresLevel batch › several operations on one key › the last one wins, as in LevelDB', async (t) => {
  const db = await freshDb();
  const k = (s: string) => Buffer.from(s);
  await db.put(k('gone'), k('0'));
  await db.batch([
    { type: 'put', key: k('a'), value: k('1') },
    { type: 'del', key: k('a') },
    { type: 'put', key: k('b'), value: k('1') },
    { type: 'put', key: k('b'), value: k('2') },
    { type: 'del', key: k('gone') },
    { type: 'put', key: k('c'), value: k('3') },
    { type: 'del', key: k('c') },
    { type: 'put', key: k('c'), value: k('4') },
  ]);
  t.deepEqual(await db.getMany([k('a'), k('b'), k('c'), k('gone')]), [undefined, k('2'), k('4'), undefined]);
  await db.close();
});

pgTest('PostgresLevel snapshot › a write issued right after snapshot() › is not seen through the snapshot, and is seen without it', async (t) => {
  const db = await freshDb();
  const k = Buffer.from('k');
  await db.batch([
    { type: 'put', key: k, value: Buffer.from('before') },
    { type: 'put', key: Buffer.from('other'), value: Buffer.from('x') },
  ]);
  const snapshot = db.snapshot();
  const writing = db.batch([
    { type: 'put', key: k, value: Buffer.from('after') },
    { type: 'del', key: Buffer.from('other') },
  ]);
  t.deepEqual(await db.get(k, { snapshot }), Buffer.from('before'));
  await writing;
  t.deepEqual(await db.get(k, { snapshot }), Buffer.from('before'));
  t.deepEqual((await db.keys({ snapshot }).all()).map(String), ['k', 'other']);
  t.deepEqual(await db.get(k), Buffer.from('after'));
  t.deepEqual((await db.keys().all()).map(String), ['k']);
  await snapshot.close();
  await db.close();
});

pgTest('PgClient › the replica listed before the primary › writes go to the primary', async (t) => {
  const parsed = /^(postgres(?:ql)?:\/\/[^@/]*@?)([^/]+)(\/.*)$/.exec(url ?? '');
  const hosts = parsed?.[2]?.split(',') ?? [];
  if (!parsed || hosts.length < 2) {
    t.pass('a single host: nothing to reorder');
    return;
  }
  const reversed = client({ url: `${parsed[1]}${[...hosts].reverse().join(',')}${parsed[3]}` });
  const db = new PostgresLevel<string, string>(reversed, `db${databases++}`);
  await db.put('written', 'yes');
  t.is(await db.get('written'), 'yes');
  const [row] = await reversed.sql<{ recovering: boolean }[]>`SELECT pg_is_in_recovery() AS recovering`;
  t.false(row?.recovering);
  await db.close();
});

const fact = (predicate: string, ...args: (string | number)[]): FactInput => ({
  predicate, args, negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

pgTest('Catalog on PostgresLevel › facts told, catalog closed and reopened › the facts are still there', async (t) => {
  const open = (pg: PgClient) =>
    Catalog.open({
      dataDir: '/pg',
      durability: { syncEveryWrite: true, groupCommitMs: 0 },
      strictDatabases: false,
      openLevel: (location) => new PostgresLevel<string, string>(pg, `${basename(location)}_${databases}`),
    });
  const now = Date.now();
  const first = await open(client());
  await (await first.forWrite('default')).database.tenant('acme').tell([fact('plan', 'enterprise'), fact('seats', 'acme', 120)], now);
  await first.close();
  const second = await open(client());
  const tenant = (await second.forRead('default')).database.tenant('acme');
  const seen = await tenant.read(now, async (reader) => {
    const view = reader.view(MAIN_SCOPE);
    const out: string[] = [];
    if (view) for await (const { fact: f } of reader.match(view, { predicate: 'seats', args: ['acme', undefined], negated: false }, { now })) out.push(JSON.stringify(f.args));
    return out;
  });
  t.deepEqual(seen, ['["acme",120]']);
  databases++;
  await second.close();
});

test('PostgresLevel open › no server at the address › LEVEL_DATABASE_NOT_OPEN caused by LEVEL_CONNECTION_LOST', async (t) => {
  const unreachable = new PgClient({ url: 'postgres://nobody@127.0.0.1:1/none', tablePrefix: prefix, connectTimeoutSeconds: 2 });
  clients.push(unreachable);
  const db = new PostgresLevel<string, string>(unreachable, 'nowhere');
  const error = await t.throwsAsync(db.open());
  t.is((error as { code?: string } | undefined)?.code, 'LEVEL_DATABASE_NOT_OPEN');
  t.is((error?.cause as { code?: string } | undefined)?.code, 'LEVEL_CONNECTION_LOST');
});

pgTest('PostgresLevel errors › a server-side error, a dropped table, then a pool that was ended › LEVEL_REMOTE_ERROR, LEVEL_DATABASE_GONE, then LEVEL_CONNECTION_LOST', async (t) => {
  const pg = client();
  const db = new PostgresLevel<string, string>(pg, `db${databases++}`);
  await db.put('a', '1');
  await pg.sql`ALTER TABLE ${pg.sql(db.table)} RENAME COLUMN v TO w`;
  t.is((await t.throwsAsync<Error & { code: string }>(db.get('a')))?.code, 'LEVEL_REMOTE_ERROR');
  // Another process dropped the database (several processes on one PostgreSQL): the catalogue looks the name up again.
  await pg.dropTable(db.table);
  t.is((await t.throwsAsync<Error & { code: string }>(db.get('a')))?.code, 'LEVEL_DATABASE_GONE');
  await pg.end();
  t.is((await t.throwsAsync<Error & { code: string }>(db.put('a', '2')))?.code, 'LEVEL_CONNECTION_LOST');
  await db.close();
});

pgTest('FactDatabase on PostgresLevel › a tenant deleted with one range clear › none of its rows remain, the other tenant is intact', async (t) => {
  const pg = client();
  const name = `db${databases++}`;
  const catalog = await Catalog.open({
    dataDir: '/pg',
    durability: { syncEveryWrite: true, groupCommitMs: 0 },
    strictDatabases: false,
    openLevel: (location) => new PostgresLevel<string, string>(pg, `${basename(location)}_${name}`),
  });
  const database = (await catalog.forWrite('default')).database;
  const now = Date.now();
  await database.tenant('acme').tell(Array.from({ length: 50 }, (_, i) => fact('seat', 'acme', i)), now);
  await database.tenant('globex').tell([fact('plan', 'globex', 'pro')], now);
  await database.markTenantDeleting('acme');
  await database.clearTenant('acme');
  await database.unregisterTenant('acme');
  const rows = await pg.sql<{ k: Buffer }[]>`SELECT k FROM ${pg.sql(pg.tableName(`default_${name}`))}`;
  const keys = rows.map((row) => row.k.toString('latin1'));
  t.deepEqual(keys.filter((key) => key.startsWith('!acme!')), []);
  t.true(keys.some((key) => key.startsWith('!globex!')));
  const globex = database.tenant('globex');
  const seen = await globex.read(now, async (reader) => {
    const view = reader.view(MAIN_SCOPE);
    const out: string[] = [];
    if (view) for await (const { fact: f } of reader.match(view, { predicate: 'plan', args: [undefined, undefined], negated: false }, { now })) out.push(JSON.stringify(f.args));
    return out;
  });
  t.deepEqual(seen, ['["globex","pro"]']);
  await catalog.close();
});

pgTest('Catalog on shared PostgreSQL › databases created while the registry is reloaded › are never forgotten', async (t) => {
  const pg = client();
  const catalog = await Catalog.open({ storage: new PgStorage(pg), durability: { syncEveryWrite: true, groupCommitMs: 0 }, strictDatabases: true });
  try {
    // Enough registrations that a scan of them outlasts the write of one more.
    for (let i = 0; i < 200; i++) await catalog.create(`filler_${i}`);
    for (let round = 0; round < 30; round++) {
      const name = `during_${round}`;
      const reloading = catalog.reload();
      await catalog.create(name);
      await reloading;
      t.true(catalog.exists(name), `round ${round}`);
      t.true(await catalog.existsNow(name), `round ${round}, looked up`);
    }
  } finally {
    await catalog.close();
  }
});
