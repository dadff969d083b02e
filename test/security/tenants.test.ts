import { rm } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { META_SUBLEVEL, tenantRegistryKey } from '../../src/encoding/control-keys.js';
import { openRawLevel } from '../helpers/backend.js';
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

/** The raw keys of a stopped server's database (its LevelDB directory, or its table) that start with `prefix`. */
async function rawKeys(dataDir: string, database: string, prefix: string): Promise<string[]> {
  const raw = await openRawLevel(dataDir, database);
  try {
    return await raw.level.keys({ gte: prefix, lt: `${prefix}\xff` }).all();
  } finally {
    await raw.close();
  }
}

/** Keys of a tenant's sublevel (abstract-level prefixes a sublevel's keys with `!<name>!`). */
const tenantPrefix = (tenant: string) => `!${tenant}!`;
/** The tenant's registration in the META sublevel of its database. */
const registrationKey = (tenant: string) => `!${META_SUBLEVEL}!${tenantRegistryKey(tenant)}`;

const tenantsOf = async (url: string, db: string): Promise<string[]> =>
  ((await adminApi(url).get(`/admin/databases/${db}/tenants`)).json.tenants as { name: string }[]).map((x) => x.name);

test('tenants › create is idempotent (201 then 200), listed, deleted, second delete is TENANT_NOT_FOUND', async (t) => {
  const { url } = t.context.server;
  const name = uniqueName('tn');
  const admin = adminApi(url);
  const created = await admin.post('/admin/databases/default/tenants', { name });
  t.is(created.status, 201, created.text);
  t.like(created.json, { database: 'default', name, created: true });
  const again = await admin.post('/admin/databases/default/tenants', { name });
  t.is(again.status, 200, again.text);
  t.like(again.json, { name, created: false });
  t.true((await tenantsOf(url, 'default')).includes(name));
  const deleted = await admin.request('DELETE', `/admin/databases/default/tenants/${name}`);
  t.is(deleted.status, 200, deleted.text);
  t.like(deleted.json, { deleted: true, database: 'default', name });
  t.false((await tenantsOf(url, 'default')).includes(name));
  assertError(t, await admin.request('DELETE', `/admin/databases/default/tenants/${name}`), 404, 'TENANT_NOT_FOUND');
  assertError(t, await admin.request('DELETE', `/admin/databases/default/tenants/${uniqueName('never')}`), 404, 'TENANT_NOT_FOUND');
  assertError(t, await admin.post('/admin/databases/default/tenants', { name: '../etc' }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.post('/admin/databases/default/tenants', { name, extra: 1 }), 400, 'VALIDATION_ERROR');
});

test('tenants › a tenant written to first is listed too', async (t) => {
  const { url } = t.context.server;
  const name = uniqueName('firstwrite');
  await expectStatus('tell', adminApi(url).post('/tell', { predicate: 'p', args: [1] }, { 'X-Tenant-ID': name }), 200);
  t.true((await tenantsOf(url, 'default')).includes(name));
});

/** A tenant with facts, a forked scope, a rule, a context session, audit events, and keys naming it. */
async function populate(url: string, tenant: string, other: string) {
  const admin = adminApi(url).with({ 'X-Tenant-ID': tenant });
  await expectStatus('tell', admin.post('/tell', { facts: [{ predicate: 'parent', args: ['ann', 'bob'] }, { predicate: 'parent', args: ['bob', 'cy'] }] }), 200);
  await expectStatus('fork', admin.post('/scope/fork', { source: 'main', target: 'what_if' }), 201);
  await expectStatus('tell in scope', admin.post('/tell', { predicate: 'parent', args: ['cy', 'dee'], scope: 'what_if' }), 200);
  await expectStatus(
    'teach',
    admin.post('/teach', { head: { predicate: 'grandparent', args: ['?x', '?z'] }, body: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }] }),
    201,
  );
  await expectStatus('context session', admin.post('/context/optimize', { sessionId: 'sess-1', maxFacts: 5 }), 200);
  const audit = await expectStatus('audit', admin.get('/audit'), 200);
  if (audit.json.events.length < 4) throw new Error(`expected audit events, got ${audit.text}`);
  await expectStatus('other tenant', adminApi(url).post('/tell', { predicate: 'parent', args: ['keep', 'me'] }, { 'X-Tenant-ID': other }), 200);
  const only = await createKey(url, { role: 'writer', databases: ['default'], tenants: [tenant] });
  const both = await createKey(url, { role: 'writer', databases: ['default'], tenants: [tenant, other] });
  return { only, both };
}

test('tenants › deleting a tenant removes its facts, scopes, rules, sessions, events and keys, and nothing of others', async (t) => {
  const server = await startSecureServer();
  try {
    const { url } = server;
    const [tenant, other] = [uniqueName('doomed'), uniqueName('bystander')];
    const { only, both } = await populate(url, tenant, other);
    const deleted = await adminApi(url).request('DELETE', `/admin/databases/default/tenants/${tenant}`);
    t.is(deleted.status, 200, deleted.text);

    const keys = ((await adminApi(url).get('/auth/keys')).json.keys as { id: string; tenants: string[] | '*' }[]) ?? [];
    t.false(keys.some((k) => k.id === only.id), 'a key for that tenant alone is gone from GET /auth/keys');
    t.deepEqual(keys.find((k) => k.id === both.id)?.tenants, [other], 'a key naming other tenants too loses this one');
    const asOnly = api(url, { ...bearer(only.key), 'X-Tenant-ID': tenant });
    assertError(t, await asOnly.post('/ask', { predicate: 'parent', args: ['?x', '?y'] }), 401, 'UNAUTHORIZED');
    const asBoth = api(url, bearer(both.key));
    assertError(t, await asBoth.post('/ask', { predicate: 'parent', args: ['?x', '?y'] }, { 'X-Tenant-ID': tenant }), 403, 'FORBIDDEN');
    t.is((await asBoth.post('/ask', { predicate: 'parent', args: ['?x', '?y'] }, { 'X-Tenant-ID': other })).status, 200);

    const admin = adminApi(url).with({ 'X-Tenant-ID': tenant });
    t.deepEqual((await admin.post('/ask', { predicate: 'parent', args: ['?x', '?y'] })).json, { results: [] }, 'no facts');
    t.deepEqual((await admin.post('/ask', { predicate: 'grandparent', args: ['?x', '?z'] })).json, { results: [] }, 'no derived facts');
    t.deepEqual((await admin.get('/audit')).json.events, [], 'no audit events');
    t.false((await tenantsOf(url, 'default')).includes(tenant));
    t.true((await tenantsOf(url, 'default')).includes(other));

    // A tenant of the same name later starts empty: nothing comes back from caches either.
    await expectStatus('re-create by a write', admin.post('/tell', { predicate: 'parent', args: ['new', 'kid'] }), 200);
    t.deepEqual((await admin.get('/scopes')).json.scopes, ['main'], 'the old scope is not back');
    t.deepEqual(((await admin.get('/rules')).json.rules as unknown[]).length, 0, 'the old rule is not back');
    const derived = await admin.post('/ask', { predicate: 'grandparent', args: ['?x', '?z'] });
    t.deepEqual(derived.json, { results: [] });
    const session = await admin.post('/context/diff', { sessionId: 'sess-1', maxFacts: 5 });
    t.is(session.status, 200, session.text);
    t.is(session.json.previousWindowId, null, 'the old context session is gone');
    const events = (await admin.get('/audit')).json.events as { op: string; seq: number }[];
    t.deepEqual(events.map((e) => e.op), ['told'], 'the audit trail starts over');
    t.is((await admin.request('DELETE', `/admin/databases/default/tenants/${tenant}`)).status, 200);
  } finally {
    await server.close({ keepData: true });
  }
  t.teardown(() => rm(server.dataDir, { recursive: true, force: true }));
});

test('tenants › after deletion a raw scan of the LevelDB finds no key of the tenant', async (t) => {
  const server = await startSecureServer();
  const [tenant, other] = [uniqueName('scanned'), uniqueName('kept')];
  t.teardown(() => rm(server.dataDir, { recursive: true, force: true }));
  try {
    await populate(server.url, tenant, other);
    await expectStatus('delete', adminApi(server.url).request('DELETE', `/admin/databases/default/tenants/${tenant}`), 200);
  } finally {
    await server.close({ keepData: true });
  }
  const dir = server.dataDir;
  t.deepEqual(await rawKeys(dir, 'default', tenantPrefix(tenant)), [], `keys under ${tenantPrefix(tenant)}`);
  t.deepEqual(await rawKeys(dir, 'default', registrationKey(tenant)), [], 'nor its registration');
  t.true((await rawKeys(dir, 'default', tenantPrefix(other))).length > 0, 'the scan does see the other tenant');
  t.is((await rawKeys(dir, 'default', registrationKey(other))).length, 1);
});

test('tenants › a deletion interrupted by a crash is finished at the next start', async (t) => {
  const server = await startSecureServer();
  const [tenant, other] = [uniqueName('halfgone'), uniqueName('intact')];
  t.teardown(() => rm(server.dataDir, { recursive: true, force: true }));
  let only: Awaited<ReturnType<typeof populate>>['only'];
  try {
    ({ only } = await populate(server.url, tenant, other));
  } finally {
    await server.close({ keepData: true });
  }
  t.true((await rawKeys(server.dataDir, 'default', tenantPrefix(tenant))).length > 0, 'leftover data before the restart');
  // What markTenantDeleting writes before anything else: the crash came right after it.
  const raw = await openRawLevel(server.dataDir, 'default');
  await raw.level.sublevel<string, string>(META_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put(tenantRegistryKey(tenant), 'deleting');
  await raw.close();

  const restarted = await startSecureServer({ dataDir: server.dataDir });
  try {
    const { url } = restarted;
    t.false((await tenantsOf(url, 'default')).includes(tenant), 'no longer listed');
    t.true((await tenantsOf(url, 'default')).includes(other));
    const keys = (await adminApi(url).get('/auth/keys')).json.keys as { id: string }[];
    t.false(keys.some((k) => k.id === only.id), 'its key went too (the hooks ran)');
    assertError(t, await api(url, { ...bearer(only.key), 'X-Tenant-ID': tenant }).post('/ask', { predicate: 'parent', args: ['?x', '?y'] }), 401, 'UNAUTHORIZED');
    const ask = await adminApi(url).post('/ask', { predicate: 'parent', args: ['?x', '?y'] }, { 'X-Tenant-ID': tenant });
    t.deepEqual(ask.json, { results: [] });
  } finally {
    await restarted.close({ keepData: true });
  }
  t.deepEqual(await rawKeys(server.dataDir, 'default', tenantPrefix(tenant)), [], 'no key of the tenant is left');
  t.deepEqual(await rawKeys(server.dataDir, 'default', registrationKey(tenant)), [], 'nor its registration');
  t.true((await rawKeys(server.dataDir, 'default', tenantPrefix(other))).length > 0);
});
