/**
 * "RateLimit-Policy / RateLimit on every reply" of a tenant with a tier, checked from outside on
 * replies the tier tests do not make: validation errors, unknown facts, search and context errors,
 * and a body that is not JSON.
 */
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type Reply, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

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

// Open: a body that is not JSON is refused by the body parser, which runs before the route's
// tenant guard (authorisation, then the tier): the reply has no RateLimit fields, and the request
// spends none of the tenant's budget. Fixing it means authorising and spending before the body is
// parsed (the route's permission known before routing), a change of the middleware order.
test.failing('RateLimit fields › on a 400 for a body that is not JSON (open: see the comment)', async (t) => {
  const { url } = t.context.server;
  const c = tenantApi(url, await freeTenant(url));
  hasFields(t, await c.post('/ask', '{"predicate":'), 'ask with malformed JSON');
});
