/**
 * "RateLimit-Policy / RateLimit on every reply" of a tenant with a tier, checked from outside on
 * replies the tier tests do not make: validation errors, unknown facts, search and context errors,
 * and a body that is not JSON.
 */
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type Reply, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';
import { adminApi, bearer, createKey, startSecureServer } from '../security/support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function freeTenant(url: string): Promise<string> {
  const tenant = uniqueName('rlh');
  if ((await api(url).post('/admin/databases/default/tenants', { name: tenant })).status !== 201) throw new Error('create');
  if ((await api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, { tier: 'free' })).status !== 200) throw new Error('settings');
  return tenant;
}

function hasFields(t: { regex: (s: string, r: RegExp, m?: string) => void }, reply: Reply, what: string): void {
  t.regex(reply.headers.get('ratelimit-policy') ?? '', /^"free";q=20;w=60$/, `${what}: RateLimit-Policy (${reply.status})`);
  t.regex(reply.headers.get('ratelimit') ?? '', /^"free";r=\d+;t=\d+$/, `${what}: RateLimit (${reply.status})`);
}

test('RateLimit fields › on 4xx replies of the routes: validation, unknown fact, search and context errors', async (t) => {
  const { url } = t.context.server;
  const c = tenantApi(url, await freeTenant(url));
  hasFields(t, await c.post('/ask', { predicate: 5 }), 'ask with a bad body');
  hasFields(t, await c.request('PATCH', '/tell', { predicate: 'none', args: [], confidence: 0.5 }), 'patch of an unknown fact');
  hasFields(t, await c.post('/search', {}), 'search with neither query');
  hasFields(t, await c.post('/search', { queryEmbedding: [1] }), 'search by vector in a database without embeddings');
  hasFields(t, await c.post('/context/diff', { query: 'x' }), 'diff without sessionId');
  hasFields(t, await c.post('/search', { query: 'anything' }), 'search');
});

// Found from outside: a body refused by the parser (not JSON, too large) is refused before the
// route's tenant guard, so those replies had no RateLimit fields and spent none of the budget.
test('RateLimit fields › on a 400 for a body that is not JSON and a 413 over maxBodyBytes; they spend the budget', async (t) => {
  const { url } = t.context.server;
  const tenant = await freeTenant(url);
  if ((await api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, { maxBodyBytes: 1024 })).status !== 200) throw new Error('settings');
  const c = tenantApi(url, tenant);
  const first = await c.post('/ask', '{"predicate":');
  t.is(first.status, 400);
  hasFields(t, first, 'ask with malformed JSON');
  const large = await c.post('/tell', { predicate: 'note', args: ['x'.repeat(2048)] });
  t.is(large.status, 413);
  hasFields(t, large, 'a body over maxBodyBytes');
  const remaining = (reply: Reply) => Number(/r=(\d+)/.exec(reply.headers.get('ratelimit') ?? '')?.[1]);
  t.is(remaining(large), remaining(first) - 1, 'each spent one request');
  const asked = await c.post('/ask', { predicate: 'p', args: ['?x'] });
  t.is(remaining(asked), remaining(large) - 1);
});

test('RateLimit fields › a malformed body naming a tenant the key may not use spends nothing of that tenant', async (t) => {
  const server = await startSecureServer({ env: { VESPER_RATE_LIMIT: '0' } });
  try {
    const admin = adminApi(server.url);
    const victim = uniqueName('rlh');
    t.is((await admin.post('/admin/databases/default/tenants', { name: victim })).status, 201);
    t.is((await admin.request('PUT', `/admin/databases/default/tenants/${victim}/settings`, { tier: 'free' })).status, 200);
    const other = await createKey(server.url, { role: 'writer', databases: ['default'], tenants: [uniqueName('rlh')] });
    const remaining = (reply: Reply) => Number(/r=(\d+)/.exec(reply.headers.get('ratelimit') ?? '')?.[1]);
    const before = await admin.post('/ask', { predicate: 'p', args: ['?x'] }, { 'X-Tenant-ID': victim });
    for (let i = 0; i < 3; i++) {
      const refused = await api(server.url, { ...bearer(other.key), 'X-Tenant-ID': victim }).post('/ask', '{');
      t.is(refused.status, 400);
      t.is(refused.headers.get('ratelimit'), null, "no fields of a tenant the key may not use");
    }
    const after = await admin.post('/ask', { predicate: 'p', args: ['?x'] }, { 'X-Tenant-ID': victim });
    t.is(remaining(after), remaining(before) - 1, "the victim's budget is untouched by the other key's requests");
  } finally {
    await server.close();
  }
});
