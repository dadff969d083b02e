import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { adminApi, bearer, createKey, expectStatus, startSecureServer } from '../security/support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer({ env: { VESPER_QUERY_MAX_TUPLES: '5000' } });
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

async function newTenant(url: string): Promise<{ db: string; tenant: string }> {
  const db = uniqueName('db');
  const tenant = uniqueName('t');
  await expectStatus('database', adminApi(url).post('/databases', { name: db }), 201);
  await expectStatus('tenant', adminApi(url).post(`/admin/databases/${db}/tenants`, { name: tenant }), 201);
  return { db, tenant };
}

test('settings › tenant values inherit server → database → tenant, each with its source', async (t) => {
  const { url } = t.context.server;
  const admin = adminApi(url);
  const { db, tenant } = await newTenant(url);
  const fresh = await admin.get(`/admin/databases/${db}/tenants/${tenant}/settings`);
  t.is(fresh.status, 200, fresh.text);
  t.deepEqual(fresh.json.settings.tier, { value: 'default', source: 'server' });
  t.deepEqual(fresh.json.settings.maxTuples, { value: 5000, source: 'server' }, 'the server level is the configuration');

  const dbPut = await admin.request('PUT', `/admin/databases/${db}/settings`, { tier: 'pro', maxFacts: 100, embeddingDimensions: 384 });
  t.is(dbPut.status, 200, dbPut.text);
  t.deepEqual(dbPut.json.settings.tier, { value: 'pro', source: 'database' });
  t.deepEqual(dbPut.json.settings.overflow, { value: 'reject', source: 'server' });

  const tenantPut = await admin.request('PUT', `/admin/databases/${db}/tenants/${tenant}/settings`, { maxFacts: 5, overflow: 'queue' });
  t.is(tenantPut.status, 200, tenantPut.text);
  t.like(tenantPut.json, { database: db, tenant });
  t.like(tenantPut.json.settings, {
    tier: { value: 'pro', source: 'database' },
    maxFacts: { value: 5, source: 'tenant' },
    overflow: { value: 'queue', source: 'tenant' },
    maxTuples: { value: 5000, source: 'server' },
    embeddingDimensions: { value: 384, source: 'database' },
  });

  // A PUT merges: what it does not name stays; null removes an override.
  const merged = await admin.request('PUT', `/admin/databases/${db}/tenants/${tenant}/settings`, { maxFacts: null, tier: 'enterprise' });
  t.like(merged.json.settings, { maxFacts: { value: 100, source: 'database' }, overflow: { value: 'queue', source: 'tenant' }, tier: { value: 'enterprise', source: 'tenant' } });
  const dbReset = await admin.request('PUT', `/admin/databases/${db}/settings`, { maxFacts: null });
  t.deepEqual(dbReset.json.settings.maxFacts, { value: 0, source: 'server' });
  t.deepEqual((await admin.get(`/admin/databases/${db}/tenants/${tenant}/settings`)).json.settings.maxFacts, { value: 0, source: 'server' });
});

test('settings › unknown names, wrong types, database-only names on a tenant and unknown tiers are 400; unknown tenant 404', async (t) => {
  const { url } = t.context.server;
  const admin = adminApi(url);
  const { db, tenant } = await newTenant(url);
  const path = `/admin/databases/${db}/tenants/${tenant}/settings`;
  assertError(t, await admin.request('PUT', path, { maxFactz: 1 }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', path, { maxFacts: '10' }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', path, { maxFacts: -1 }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', path, { overflow: 'drop' }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', path, { embeddingDimensions: 3 }), 400, 'VALIDATION_ERROR');
  const tier = await admin.request('PUT', path, { tier: 'gold' });
  assertError(t, tier, 400, 'VALIDATION_ERROR');
  t.deepEqual(tier.json.details.tiers, ['default', 'enterprise', 'free', 'pro']);
  assertError(t, await admin.request('PUT', path, '[1]'), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 4097 }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 1.5 }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.request('PUT', `/admin/databases/${db}/settings`, { db: 'other' }), 400, 'VALIDATION_ERROR');
  assertError(t, await admin.get(`/admin/databases/${db}/tenants/${uniqueName('never')}/settings`), 404, 'TENANT_NOT_FOUND');
  assertError(t, await admin.request('PUT', `/admin/databases/${db}/tenants/${uniqueName('never')}/settings`, { maxFacts: 1 }), 404, 'TENANT_NOT_FOUND');
  assertError(t, await admin.get(`/admin/databases/${uniqueName('nodb')}/settings`), 404, 'NOT_FOUND');
  // Nothing of the refused requests was stored.
  const after = await admin.get(path);
  t.true(Object.values(after.json.settings as Record<string, { source: string }>).every((s) => s.source === 'server'));
});

test('settings › a tenant key (even a writer of that tenant) cannot read or change them: 403', async (t) => {
  const { url } = t.context.server;
  const { db, tenant } = await newTenant(url);
  const writer = await createKey(url, { role: 'writer', databases: [db], tenants: [tenant] });
  const client = api(url, bearer(writer.key));
  assertError(t, await client.get(`/admin/databases/${db}/tenants/${tenant}/settings`), 403, 'FORBIDDEN');
  assertError(t, await client.request('PUT', `/admin/databases/${db}/tenants/${tenant}/settings`, { tier: 'enterprise' }), 403, 'FORBIDDEN');
  assertError(t, await client.request('PUT', `/admin/databases/${db}/settings`, { tier: 'enterprise' }), 403, 'FORBIDDEN');
  assertError(t, await api(url).get(`/admin/databases/${db}/settings`), 401, 'UNAUTHORIZED');
  const seen = await adminApi(url).get(`/admin/databases/${db}/tenants/${tenant}/settings`);
  t.deepEqual(seen.json.settings.tier, { value: 'default', source: 'server' });
});

test('settings › deleting a tenant deletes its overrides: the same name created again starts from the database', async (t) => {
  const { url } = t.context.server;
  const admin = adminApi(url);
  const { db, tenant } = await newTenant(url);
  await expectStatus('override', admin.request('PUT', `/admin/databases/${db}/tenants/${tenant}/settings`, { tier: 'free' }), 200);
  await expectStatus('delete', admin.request('DELETE', `/admin/databases/${db}/tenants/${tenant}`), 200);
  await expectStatus('again', admin.post(`/admin/databases/${db}/tenants`, { name: tenant }), 201);
  t.deepEqual((await admin.get(`/admin/databases/${db}/tenants/${tenant}/settings`)).json.settings.tier, { value: 'default', source: 'server' });
});

test('settings › survive a restart', async (t) => {
  const server = await startSecureServer();
  const admin = adminApi(server.url);
  const { db, tenant } = await newTenant(server.url);
  await expectStatus('db', admin.request('PUT', `/admin/databases/${db}/settings`, { tier: 'free', sessionIdleMs: 60_000 }), 200);
  await expectStatus('tenant', admin.request('PUT', `/admin/databases/${db}/tenants/${tenant}/settings`, { contextMaxFacts: 7 }), 200);
  await server.close({ keepData: true });
  const again = await startSecureServer({ dataDir: server.dataDir });
  try {
    const reply = await adminApi(again.url).get(`/admin/databases/${db}/tenants/${tenant}/settings`);
    t.like(reply.json.settings, { tier: { value: 'free', source: 'database' }, sessionIdleMs: { value: 60_000, source: 'database' }, contextMaxFacts: { value: 7, source: 'tenant' } });
  } finally {
    await again.close();
  }
});
