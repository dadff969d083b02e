import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const names = async (url: string): Promise<string[]> => (await api(url).get('/databases')).json.databases.map((d: { name: string }) => d.name);

test('POST /databases › when the name is new › 201 created:true; again › 200 created:false', async (t) => {
  const { url } = t.context.server;
  const name = uniqueName('production');
  const created = await api(url).post('/databases', { name });
  t.is(created.status, 201, created.text);
  t.like(created.json, { name, created: true });
  t.is(typeof created.json.createdAt, 'number');
  const again = await api(url).post('/databases', { name });
  t.is(again.status, 200, again.text);
  t.like(again.json, { name, created: false, createdAt: created.json.createdAt });
});

test('GET /databases › lists default and the databases created, sorted', async (t) => {
  const { url } = t.context.server;
  const name = uniqueName('listed');
  await api(url).post('/databases', { name });
  const reply = await api(url).get('/databases');
  t.is(reply.status, 200);
  const listed: string[] = reply.json.databases.map((d: { name: string }) => d.name);
  t.true(listed.includes('default'));
  t.true(listed.includes(name));
  t.deepEqual(listed, [...listed].sort(), 'sorted by name');
  t.false(listed.includes('_system'), 'the registry itself is not a database');
});

test('POST /databases › when the name is invalid › 400', async (t) => {
  const { url } = t.context.server;
  for (const body of [{ name: '../etc' }, { name: 'a b' }, { name: '' }, { name: 'x'.repeat(65) }, { name: '.' }, { name: '..' }, { name: 5 }, {}, { name: null }]) {
    assertError(t, await api(url).post('/databases', body), 400, 'VALIDATION_ERROR');
  }
  assertError(t, await api(url).post('/databases', 'not json'), 400, 'VALIDATION_ERROR');
});

test('POST /databases › when the name is _system › 400, and writes cannot create it either', async (t) => {
  const { url } = t.context.server;
  const reply = await api(url).post('/databases', { name: '_system' });
  assertError(t, reply, 400, 'VALIDATION_ERROR');
  assertError(t, await tenantApi(url, 'someone', '_system').post('/tell', { predicate: 'p' }), 400, 'VALIDATION_ERROR');
  assertError(t, await tenantApi(url, 'someone', '_system').post('/ask', { predicate: 'p' }), 404, 'NOT_FOUND');
  t.false((await names(url)).includes('_system'));
});

test('POST /tell › when the database was never created › the first write creates it and it is listed', async (t) => {
  const { url } = t.context.server;
  const name = uniqueName('onwrite');
  t.false((await names(url)).includes(name));
  await tellOk(tenantApi(url, 'acme_corp', name), { predicate: 'plan', args: ['enterprise'] });
  t.true((await names(url)).includes(name));
  const again = await api(url).post('/databases', { name });
  t.is(again.status, 200, 'already exists');
  t.false(again.json.created);
});

test('POST /tell › when VESPER_STRICT_DATABASES=1 › writes do not create databases (404) until created', async (t) => {
  const strict = await startTestServer({ VESPER_STRICT_DATABASES: '1' });
  t.teardown(() => strict.close());
  const c = tenantApi(strict.url, 'acme_corp', 'production');
  assertError(t, await c.post('/tell', { predicate: 'plan', args: ['enterprise'] }), 404, 'NOT_FOUND');
  t.false((await names(strict.url)).includes('production'));
  t.is((await api(strict.url).post('/databases', { name: 'production' })).status, 201);
  t.is((await c.post('/tell', { predicate: 'plan', args: ['enterprise'] })).status, 200);
  t.is((await tenantApi(strict.url, 'acme_corp').post('/tell', { predicate: 'p' })).status, 200, 'default always exists');
});

test('databases › when the server restarts › created databases and their facts are still there', async (t) => {
  const first = await startTestServer();
  await api(first.url).post('/databases', { name: 'kept' });
  await tellOk(tenantApi(first.url, 'acme_corp', 'onwrite'), { predicate: 'plan', args: ['pro'] });
  await first.close({ keepData: true });
  const second = await startTestServer({}, { dataDir: first.dataDir });
  t.teardown(() => second.close());
  const listed = await names(second.url);
  t.true(['default', 'kept', 'onwrite'].every((n) => listed.includes(n)), listed.join(', '));
  const asked = await tenantApi(second.url, 'acme_corp', 'onwrite').post('/ask', { predicate: 'plan', args: ['?tier'] });
  t.deepEqual(asked.json.results.map((r: { bindings: object }) => r.bindings), [{ tier: 'pro' }]);
});

test('GET /health › status ok, auth open, a version; GET /ready › ready', async (t) => {
  const { url } = t.context.server;
  const health = await api(url).get('/health');
  t.is(health.status, 200);
  t.regex(health.headers.get('content-type') ?? '', /^application\/json/);
  t.like(health.json, { status: 'ok', auth: 'open' });
  t.is(typeof health.json.version, 'string');
  const ready = await api(url).get('/ready');
  t.is(ready.status, 200);
  t.like(ready.json, { ready: true });
  t.is((await api(url).get('/health', { 'X-Tenant-ID': '../not/checked' })).status, 200, 'health needs no address');
});
