/**
 * Progressive access, cases found from outside: a sandbox is made by a keyless POST /tell that
 * succeeds, in the sandbox database only; a keyless request naming another database is not
 * answered from the demo tenant; a claimed sandbox keeps none of its sandbox settings.
 */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { adminApi, bearer, startSecureServer } from '../security/support.js';

const test = anyTest as TestFn<{ server: TestServer }>;
const DEMO = 'demo';

test.before(async (t) => {
  t.context.server = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '3', VESPER_SANDBOX_DEMO_TENANT: DEMO } });
  await tellOk(adminApi(t.context.server.url).with({ 'X-Tenant-ID': DEMO }), { predicate: 'planet', args: ['earth'] });
  t.is((await adminApi(t.context.server.url).post('/databases', { name: 'other' })).status, 201);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const tenantsOf = async (url: string): Promise<string[]> => ((await adminApi(url).get('/admin/databases/default/tenants')).json.tenants as { name: string }[]).map((x) => x.name).sort();

test.serial('sandbox › a keyless tell that fails (400, 409) › makes no sandbox: no token, no tenant, no spent allowance', async (t) => {
  const { url } = t.context.server;
  const anonymous = api(url);
  const before = await tenantsOf(url);
  // More failures than the allowance of 3 sandboxes an hour: none may spend it.
  for (let i = 0; i < 4; i++) {
    const bad = await anonymous.post('/tell', { predicate: 5 });
    assertError(t, bad, 400, 'VALIDATION_ERROR');
    t.regex(bad.json.message, /predicate/, 'refused for its body, in the sandbox it would have made');
    t.is(bad.headers.get('x-vesper-sandbox'), null, 'no token on a refused tell');
    t.is(bad.headers.get('x-vesper-sandbox-tenant'), null);
  }
  const contradiction = await anonymous.post('/tell', { facts: [{ predicate: 'b', args: [1], negated: true }, { predicate: 'b', args: [1] }] });
  assertError(t, contradiction, 409, 'CONFLICT');
  t.is(contradiction.headers.get('x-vesper-sandbox'), null);
  t.deepEqual(await tenantsOf(url), before, 'no sandbox tenant left behind');
  const good = await anonymous.post('/tell', { predicate: 'note', args: ['first'] });
  t.is(good.status, 200, good.text);
  const token = good.headers.get('x-vesper-sandbox');
  const tenant = good.headers.get('x-vesper-sandbox-tenant');
  t.truthy(token);
  t.truthy(tenant);
  const asked = await api(url, { ...bearer(token ?? ''), 'X-Tenant-ID': tenant ?? '' }).post('/ask', { predicate: 'note', args: ['?n'] });
  t.deepEqual(asked.json.results.map((r: { args: unknown[] }) => r.args), [['first']]);
});

test.serial('sandbox › only POST /tell makes one › a keyless PATCH /tell or POST /tx/begin acts on the read-only demo (403)', async (t) => {
  const { url } = t.context.server;
  const anonymous = api(url);
  const before = await tenantsOf(url);
  const patched = await anonymous.request('PATCH', '/tell', { predicate: 'planet', args: ['earth'], confidence: 0.1 });
  assertError(t, patched, 403, 'FORBIDDEN');
  t.is(patched.headers.get('x-vesper-sandbox'), null);
  const begun = await anonymous.post('/tx/begin', {});
  assertError(t, begun, 403, 'FORBIDDEN');
  t.is(begun.headers.get('x-vesper-sandbox'), null);
  t.deepEqual(await tenantsOf(url), before);
  t.is((await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] })).json.results[0]?.confidence, 1, 'the demo is unchanged');
});

test.serial('sandbox › a keyless request naming another database › 401: neither a sandbox in default nor the demo tenant answers for it', async (t) => {
  const { url } = t.context.server;
  const anonymous = api(url, { 'X-Database': 'other' });
  const before = await tenantsOf(url);
  const told = await anonymous.post('/tell', { predicate: 'note', args: ['where'] });
  assertError(t, told, 401, 'UNAUTHORIZED');
  t.is(told.headers.get('x-vesper-sandbox'), null);
  assertError(t, await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] }), 401, 'UNAUTHORIZED');
  assertError(t, await api(url).post('/db/other/~demo/ask', { predicate: 'planet', args: ['?p'] }), 401, 'UNAUTHORIZED');
  t.deepEqual(await tenantsOf(url), before);
  // The default database named explicitly is the sandbox database: it still works.
  const named = await api(url, { 'X-Database': 'default' }).post('/ask', { predicate: 'planet', args: ['?p'] });
  t.is(named.status, 200, named.text);
});

test.serial('sandbox › claim in place › the sandbox facts quota goes with the sandbox tier, as when the claim renames it', async (t) => {
  const { url } = t.context.server;
  const reply = await api(url).post('/tell', { predicate: 'kept', args: [1] });
  t.is(reply.status, 200, reply.text);
  const token = reply.headers.get('x-vesper-sandbox') ?? '';
  const tenant = reply.headers.get('x-vesper-sandbox-tenant') ?? '';
  const before = (await adminApi(url).get(`/admin/databases/default/tenants/${tenant}/settings`)).json.settings;
  t.is(before.maxFacts.source, 'tenant', 'a sandbox has its own facts quota');
  const claimToken = (await adminApi(url).post('/admin/claims', {})).json.claimToken;
  const claimed = await api(url).post('/claim', { sandboxToken: token, claimToken });
  t.is(claimed.status, 201, claimed.text);
  const after = (await adminApi(url).get(`/admin/databases/default/tenants/${tenant}/settings`)).json.settings;
  t.not(after.tier.source, 'tenant');
  t.not(after.maxFacts.source, 'tenant', 'the claimed tenant is held to the quotas of a permanent tenant');
});

test.serial('sandbox › claim into a tenant an admin prepared (empty, with its own settings) › those settings stay', async (t) => {
  const { url } = t.context.server;
  const admin = adminApi(url);
  t.is((await admin.post('/admin/databases/default/tenants', { name: 'prepared_inc' })).status, 201);
  t.is((await admin.request('PUT', '/admin/databases/default/tenants/prepared_inc/settings', { tier: 'pro', maxFacts: 50 })).status, 200);
  const reply = await api(url).post('/tell', { predicate: 'moved', args: [1] });
  t.is(reply.status, 200, reply.text);
  const claimToken = (await admin.post('/admin/claims', {})).json.claimToken;
  const claimed = await api(url).post('/claim', { sandboxToken: reply.headers.get('x-vesper-sandbox'), claimToken, tenant: 'prepared_inc' });
  t.is(claimed.status, 201, claimed.text);
  const settings = (await admin.get('/admin/databases/default/tenants/prepared_inc/settings')).json.settings;
  t.deepEqual(settings.tier, { value: 'pro', source: 'tenant' });
  t.deepEqual(settings.maxFacts, { value: 50, source: 'tenant' });
  const owner = api(url, { ...bearer(claimed.json.key), 'X-Tenant-ID': 'prepared_inc' });
  t.deepEqual((await owner.post('/ask', { predicate: 'moved', args: ['?x'] })).json.results.map((r: { args: unknown[] }) => r.args), [[1]]);
});
