import anyTest, { type TestFn } from 'ava';
import { storageExists } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { adminApi, bearer, createKey, expectStatus, startSecureServer } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const databaseNames = async (url: string, key?: string): Promise<string[]> => {
  const reply = await (key === undefined ? adminApi(url) : api(url, bearer(key))).get('/databases');
  if (reply.status !== 200) throw new Error(`GET /databases: ${reply.status} ${reply.text}`);
  return (reply.json.databases as { name: string }[]).map((d) => d.name);
};

test('databases › DELETE /admin/databases/{db} removes it from the list and its directory', async (t) => {
  const { url, dataDir } = t.context.server;
  const db = uniqueName('dropme');
  await expectStatus('tell', adminApi(url).post('/tell', { predicate: 'p', args: ['x'] }, { 'X-Database': db, 'X-Tenant-ID': 'acme' }), 200);
  t.true((await databaseNames(url)).includes(db));
  t.true(await storageExists(dataDir, db), 'the database has a directory (a table on PostgreSQL)');
  const dropped = await adminApi(url).request('DELETE', `/admin/databases/${db}`);
  t.is(dropped.status, 200, dropped.text);
  t.like(dropped.json, { deleted: true, name: db });
  t.false((await databaseNames(url)).includes(db), 'no longer listed');
  t.false(await storageExists(dataDir, db), 'its directory (table) is gone');
  assertError(t, await adminApi(url).post('/ask', { predicate: 'p', args: ['?x'] }, { 'X-Database': db, 'X-Tenant-ID': 'acme' }), 404, 'NOT_FOUND');
  assertError(t, await adminApi(url).request('DELETE', `/admin/databases/${db}`), 404, 'NOT_FOUND');
  // Created again by a write, it starts empty.
  await expectStatus('tell again', adminApi(url).post('/tell', { predicate: 'q', args: [1] }, { 'X-Database': db, 'X-Tenant-ID': 'acme' }), 200);
  const ask = await adminApi(url).post('/ask', { predicate: 'p', args: ['?x'] }, { 'X-Database': db, 'X-Tenant-ID': 'acme' });
  t.deepEqual(ask.json, { results: [] });
});

test('databases › the default database cannot be deleted (400), by either path', async (t) => {
  const { url, dataDir } = t.context.server;
  assertError(t, await adminApi(url).request('DELETE', '/admin/databases/default'), 400, 'VALIDATION_ERROR');
  assertError(t, await adminApi(url).request('DELETE', '/databases/default'), 400, 'VALIDATION_ERROR');
  assertError(t, await adminApi(url).request('DELETE', '/admin/databases/_system'), 404, 'NOT_FOUND');
  t.true((await databaseNames(url)).includes('default'));
  t.true(await storageExists(dataDir, 'default'));
  t.true(await storageExists(dataDir, '_system'));
});

test('databases › a key limited to a deleted database does not come back with a new database of that name', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('reborn');
  await expectStatus('create', adminApi(url).post('/databases', { name: db }), 201);
  const scoped = await createKey(url, { role: 'writer', databases: [db] });
  const both = await createKey(url, { role: 'reader', databases: [db, 'default'] });
  const tenantKey = await createKey(url, { role: 'writer', databases: [db], tenants: ['acme'] });
  const client = api(url, { ...bearer(scoped.key), 'X-Database': db, 'X-Tenant-ID': 'acme' });
  await expectStatus('tell as the scoped key', client.post('/tell', { predicate: 'old', args: [1] }), 200);
  await expectStatus('drop', adminApi(url).request('DELETE', `/databases/${db}`), 200);
  await expectStatus('re-create', adminApi(url).post('/databases', { name: db }), 201);
  const keys = (await adminApi(url).get('/auth/keys')).json.keys as { id: string; databases: string[] | '*' }[];
  t.false(keys.some((k) => k.id === scoped.id), 'a key for that database alone is revoked with it');
  t.false(keys.some((k) => k.id === tenantKey.id), 'so is a key for one of its tenants');
  t.deepEqual(keys.find((k) => k.id === both.id)?.databases, ['default'], 'a key naming other databases too loses this one');
  assertError(t, await client.post('/tell', { predicate: 'new', args: [1] }), 401, 'UNAUTHORIZED');
  assertError(t, await api(url, { ...bearer(both.key), 'X-Database': db, 'X-Tenant-ID': 'acme' }).post('/ask', { predicate: 'new', args: ['?x'] }), 403, 'FORBIDDEN');
});

test('databases › a database-scoped admin key manages tenants of its database only, and cannot create keys or databases', async (t) => {
  const { url } = t.context.server;
  const [x, y] = [uniqueName('mine'), uniqueName('theirs')];
  await expectStatus('create x', adminApi(url).post('/databases', { name: x }), 201);
  await expectStatus('create y', adminApi(url).post('/databases', { name: y }), 201);
  await expectStatus('tenant in y', adminApi(url).post(`/admin/databases/${y}/tenants`, { name: 'victim' }), 201);
  const { key } = await createKey(url, { role: 'admin', databases: [x] });
  const scoped = api(url, bearer(key));

  const created = await scoped.post(`/admin/databases/${x}/tenants`, { name: 'acme' });
  t.is(created.status, 201, created.text);
  t.deepEqual((await scoped.get(`/admin/databases/${x}/tenants`)).json.tenants, [{ name: 'acme' }]);
  const told = await scoped.post('/tell', { predicate: 'p', args: [1] }, { 'X-Database': x, 'X-Tenant-ID': 'acme' });
  t.is(told.status, 200, 'and use them');
  const deleted = await scoped.request('DELETE', `/admin/databases/${x}/tenants/acme`);
  t.is(deleted.status, 200, deleted.text);
  t.is((await scoped.post(`/admin/databases/${x}/rules`, { text: 'q(?x) :- p(?x).' })).status, 201, 'and its database rules');

  assertError(t, await scoped.get(`/admin/databases/${y}/tenants`), 403, 'FORBIDDEN');
  assertError(t, await scoped.post(`/admin/databases/${y}/tenants`, { name: 'intruder' }), 403, 'FORBIDDEN');
  assertError(t, await scoped.request('DELETE', `/admin/databases/${y}/tenants/victim`), 403, 'FORBIDDEN');
  assertError(t, await scoped.post(`/admin/databases/${y}/rules`, { text: 'q(?x) :- p(?x).' }), 403, 'FORBIDDEN');
  assertError(t, await scoped.post('/tell', { predicate: 'p', args: [1] }, { 'X-Database': y, 'X-Tenant-ID': 'victim' }), 403, 'FORBIDDEN');
  const tenantsOfY = (await adminApi(url).get(`/admin/databases/${y}/tenants`)).json.tenants as { name: string }[];
  t.deepEqual(tenantsOfY, [{ name: 'victim' }], "y's tenants are as they were");
  t.deepEqual((await adminApi(url).get(`/admin/databases/${y}/rules`)).json.rules, [], "y's rules are as they were");

  assertError(t, await scoped.post('/auth/keys', { role: 'reader', databases: [x] }), 403, 'FORBIDDEN');
  assertError(t, await scoped.get('/auth/keys'), 403, 'FORBIDDEN');
  assertError(t, await scoped.post('/databases', { name: uniqueName('nope') }), 403, 'FORBIDDEN');
  assertError(t, await scoped.request('DELETE', `/databases/${x}`), 403, 'FORBIDDEN');
  assertError(t, await scoped.request('DELETE', `/admin/databases/${y}`), 403, 'FORBIDDEN');
  t.deepEqual(await databaseNames(url, key), [x], 'GET /databases shows its database only');
  t.true((await databaseNames(url)).includes(y), 'y still exists');
});

test('databases › a database-scoped key cannot write a database into existence by naming it', async (t) => {
  const { url } = t.context.server;
  const x = uniqueName('granted');
  const ghost = uniqueName('ghost');
  const { key } = await createKey(url, { role: 'writer', databases: [x] });
  assertError(t, await api(url, bearer(key)).post('/tell', { predicate: 'p', args: [1] }, { 'X-Database': ghost, 'X-Tenant-ID': 'acme' }), 403, 'FORBIDDEN');
  assertError(t, await api(url, bearer(key)).post(`/db/${ghost}/~acme/tell`, { predicate: 'p', args: [1] }), 403, 'FORBIDDEN');
  t.false((await databaseNames(url)).includes(ghost));
});
