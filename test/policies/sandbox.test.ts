/** Progressive access over real HTTP (and a real MCP client): demo reads, sandboxes made by a keyless tell, expiry, claims. */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { META_SUBLEVEL, tenantRegistryKey } from '../../src/encoding/control-keys.js';
import { openRawLevel } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { eventually, tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, api } from '../helpers/server.js';
import { call, connect } from '../mcp/client.js';
import { adminApi, bearer, startSecureServer } from '../security/support.js';

const test = anyTest as TestFn<{ server: TestServer; hooks: Server; events: { type: string; data: Record<string, unknown> }[] }>;
const DEMO = 'demo';

test.before(async (t) => {
  // A webhook receiver: the claims' `tenant.claimed` events land here.
  t.context.events = [];
  t.context.hooks = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      t.context.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  t.context.hooks.listen(0, '127.0.0.1');
  await once(t.context.hooks, 'listening');
  const hooksUrl = `http://127.0.0.1:${(t.context.hooks.address() as AddressInfo).port}/hooks`;
  t.context.server = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '1000', VESPER_SANDBOX_DEMO_TENANT: DEMO, VESPER_HOOKS_URL: hooksUrl, VESPER_HOOKS_SECRET: 'sandbox-hook-secret-0123', VESPER_HOOKS_RETRY_MS: '50' } });
  await tellOk(adminApi(t.context.server.url).with({ 'X-Tenant-ID': DEMO }), { predicate: 'planet', args: ['earth'] });
});
test.after.always(async (t) => {
  await t.context.server?.close();
  t.context.hooks?.close();
});

/** A keyless tell: the sandbox's token and tenant from the reply headers. */
async function openSandbox(url: string, fact: { predicate: string; args: unknown[] }): Promise<{ token: string; tenant: string; client: Api }> {
  const reply = await api(url).post('/tell', fact);
  if (reply.status !== 200) throw new Error(`keyless tell failed with ${reply.status}: ${reply.text}`);
  const token = reply.headers.get('x-vesper-sandbox');
  const tenant = reply.headers.get('x-vesper-sandbox-tenant');
  if (!token || !tenant) throw new Error('no sandbox headers on the keyless tell');
  return { token, tenant, client: api(url, { ...bearer(token), 'X-Tenant-ID': tenant }) };
}

async function issueClaim(url: string): Promise<string> {
  const reply = await adminApi(url).post('/admin/claims', {});
  if (reply.status !== 201) throw new Error(`claim issue failed with ${reply.status}: ${reply.text}`);
  return reply.json.claimToken;
}

const args = (reply: { json: { results: { args: unknown[] }[] } }) => reply.json.results.map((r) => r.args);

test('sandbox › no key › reads the demo tenant (named or not), cannot write it (403) nor reach any other tenant or control route (401)', async (t) => {
  const anonymous = api(t.context.server.url);
  t.deepEqual(args(await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] })), [['earth']]);
  t.deepEqual(args(await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] }, { 'X-Tenant-ID': DEMO })), [['earth']]);
  assertError(t, await anonymous.post('/tell', { predicate: 'planet', args: ['mars'] }, { 'X-Tenant-ID': DEMO }), 403, 'FORBIDDEN');
  assertError(t, await anonymous.post('/retract', { predicate: 'planet', args: ['earth'] }), 403, 'FORBIDDEN');
  assertError(t, await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] }, { 'X-Tenant-ID': 'acme' }), 401, 'UNAUTHORIZED');
  assertError(t, await anonymous.get('/auth/keys'), 401, 'UNAUTHORIZED');
  assertError(t, await anonymous.post('/admin/claims', {}), 401, 'UNAUTHORIZED');
  t.deepEqual(args(await anonymous.post('/ask', { predicate: 'planet', args: ['?p'] })), [['earth']], 'the demo is unchanged');
});

test('sandbox › a keyless tell makes a sandbox › its token works on later requests and over MCP, for that tenant only', async (t) => {
  const { url } = t.context.server;
  const a = await openSandbox(url, { predicate: 'note', args: ['a1'] });
  t.regex(a.tenant, /^sbx-[0-9a-f]{16}$/);
  await tellOk(a.client, { predicate: 'note', args: ['a2'] });
  t.deepEqual(args(await a.client.post('/ask', { predicate: 'note', args: ['?n'] })).sort(), [['a1'], ['a2']]);
  const settings = await adminApi(url).get(`/admin/databases/default/tenants/${a.tenant}/settings`);
  t.is(settings.status, 200, settings.text);
  t.deepEqual(settings.json.settings.tier, { value: 'free', source: 'tenant' }, 'a sandbox has the free tier of its own');

  const b = await openSandbox(url, { predicate: 'note', args: ['b1'] });
  t.not(b.tenant, a.tenant);
  assertError(t, await b.client.post('/ask', { predicate: 'note', args: ['?n'] }, { 'X-Tenant-ID': a.tenant }), 403, 'FORBIDDEN');
  assertError(t, await a.client.post('/ask', { predicate: 'planet', args: ['?p'] }, { 'X-Tenant-ID': DEMO }), 403, 'FORBIDDEN');
  t.deepEqual(args(await b.client.post('/ask', { predicate: 'note', args: ['?n'] })), [['b1']]);

  const mcp = await connect(url, 'streamable', { ...bearer(a.token), 'X-Tenant-ID': a.tenant });
  try {
    await call(mcp, 'tell', { predicate: 'note', args: ['a3'] });
    const asked = await call(mcp, 'ask', { predicate: 'note', args: ['?n'] });
    t.false(asked.isError, JSON.stringify(asked.json));
    t.deepEqual((asked.json.results as { args: unknown[] }[]).map((r) => r.args).sort(), [['a1'], ['a2'], ['a3']]);
  } finally {
    await mcp.close();
  }
  await t.throwsAsync(connect(url, 'streamable', { ...bearer(b.token), 'X-Tenant-ID': a.tenant }), undefined, 'another sandbox opens no MCP session on it');
});

test('sandbox › claim in place › data kept, the sandbox token stops working, a new writer key with no expiry; the claim token is one-time', async (t) => {
  const { url } = t.context.server;
  const box = await openSandbox(url, { predicate: 'kept', args: [1] });
  const claimToken = await issueClaim(url);
  const claimed = await api(url).post('/claim', { sandboxToken: box.token, claimToken });
  t.is(claimed.status, 201, claimed.text);
  t.deepEqual(Object.keys(claimed.json).sort(), ['key', 'tenant']);
  t.is(claimed.json.tenant, box.tenant);
  assertError(t, await box.client.post('/ask', { predicate: 'kept', args: ['?x'] }), 401, 'UNAUTHORIZED');
  const owner = api(url, { ...bearer(claimed.json.key), 'X-Tenant-ID': box.tenant });
  t.deepEqual(args(await owner.post('/ask', { predicate: 'kept', args: ['?x'] })), [[1]]);
  await tellOk(owner, { predicate: 'kept', args: [2] });
  const keys = (await adminApi(url).get('/auth/keys')).json.keys as { tenants: unknown; expiresAt: number | null; sandbox?: true }[];
  const forTenant = keys.filter((k) => JSON.stringify(k.tenants) === JSON.stringify([box.tenant]));
  t.is(forTenant.length, 1, 'only the new key grants the claimed tenant');
  t.is(forTenant[0]?.expiresAt, null);
  t.is(forTenant[0]?.sandbox, undefined);
  const tier = (await adminApi(url).get(`/admin/databases/default/tenants/${box.tenant}/settings`)).json.settings.tier;
  t.not(tier.source, 'tenant', 'the sandbox tier goes with the claim');

  const other = await openSandbox(url, { predicate: 'x', args: [1] });
  assertError(t, await api(url).post('/claim', { sandboxToken: other.token, claimToken }), 403, 'FORBIDDEN');
  assertError(t, await api(url).post('/claim', { sandboxToken: other.token, claimToken: `${claimToken.slice(0, -4)}AAAA` }), 404, 'NOT_FOUND');
  assertError(t, await api(url).post('/claim', { sandboxToken: other.token, claimToken: 'vsp_claim_nope' }), 404, 'NOT_FOUND');
  assertError(t, await api(url).post('/claim', { sandboxToken: box.token, claimToken: await issueClaim(url) }), 401, 'UNAUTHORIZED');
  t.is((await other.client.post('/ask', { predicate: 'x', args: ['?v'] })).status, 200, 'a refused claim leaves the sandbox as it was');
});

test('sandbox › claim with a name › the data moves there, the sandbox is deleted; a taken name is 409 and spends no token', async (t) => {
  const { url } = t.context.server;
  const box = await openSandbox(url, { predicate: 'moved', args: ['a'] });
  await tellOk(box.client, { facts: [{ predicate: 'moved', args: ['b'] }, { predicate: 'edge', args: ['a', 'b'] }] });
  t.is((await box.client.post('/rules', { text: 'linked(?x) :- edge(?x, ?y).' })).status, 201);
  const taken = uniqueName('taken');
  await tellOk(adminApi(url).with({ 'X-Tenant-ID': taken }), { predicate: 'mine', args: [1] });
  const claimToken = await issueClaim(url);
  assertError(t, await api(url).post('/claim', { sandboxToken: box.token, claimToken, tenant: taken }), 409, 'CONFLICT');

  const target = uniqueName('acme');
  const claimed = await api(url).post('/claim', { sandboxToken: box.token, claimToken, tenant: target });
  t.is(claimed.status, 201, claimed.text);
  t.is(claimed.json.tenant, target);
  const owner = api(url, { ...bearer(claimed.json.key), 'X-Tenant-ID': target });
  t.deepEqual(args(await owner.post('/ask', { predicate: 'moved', args: ['?x'] })).sort(), [['a'], ['b']]);
  t.deepEqual(args(await owner.post('/ask', { predicate: 'linked', args: ['?x'] })), [['a']]);
  const tenants = ((await adminApi(url).get('/admin/databases/default/tenants')).json.tenants as { name: string }[]).map((x) => x.name);
  t.true(tenants.includes(target));
  t.false(tenants.includes(box.tenant), 'the sandbox is deleted');
  assertError(t, await box.client.post('/ask', { predicate: 'moved', args: ['?x'] }), 401, 'UNAUTHORIZED');
  assertError(t, await api(url).post('/claim', { sandboxToken: box.token, claimToken }), 401, 'UNAUTHORIZED');
  const claimedEvent = () => t.context.events.find((e) => e.type === 'tenant.claimed' && e.data.tenant === target);
  t.true(await eventually(async () => claimedEvent() !== undefined, 10_000), 'the tenant.claimed hook is sent');
  t.deepEqual(claimedEvent()?.data, { database: 'default', tenant: target, sandbox: box.tenant });
});

test('sandbox › expiry › the sweep deletes the sandbox tenant and its key, leaving no trace in a raw scan', async (t) => {
  const server = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_TTL_MS: '400' } });
  t.teardown(() => rm(server.dataDir, { recursive: true, force: true }));
  let tenant = '';
  try {
    const box = await openSandbox(server.url, { predicate: 'ephemeral', args: [1] });
    tenant = box.tenant;
    const tenantsNow = async () => ((await adminApi(server.url).get('/admin/databases/default/tenants')).json.tenants as { name: string }[]).map((x) => x.name);
    t.true((await tenantsNow()).includes(tenant));
    const keysNow = async () => (await adminApi(server.url).get('/auth/keys')).json.keys as unknown[];
    // The tenant leaves the listing when its deletion starts; its key goes a step later.
    t.true(await eventually(async () => !(await tenantsNow()).includes(tenant) && (await keysNow()).length === 0, 10_000, 50), 'the sandbox tenant and its key are deleted');
    assertError(t, await box.client.post('/ask', { predicate: 'ephemeral', args: ['?x'] }), 401, 'UNAUTHORIZED');
  } finally {
    await server.close({ keepData: true });
  }
  const raw = await openRawLevel(server.dataDir, 'default');
  try {
    const prefix = `!${tenant}!`;
    t.deepEqual(await raw.level.keys({ gte: prefix, lt: `${prefix}\xff` }).all(), []);
    const registration = `!${META_SUBLEVEL}!${tenantRegistryKey(tenant)}`;
    t.deepEqual(await raw.level.keys({ gte: registration, lt: `${registration}\xff` }).all(), []);
  } finally {
    await raw.close();
  }
});

test('sandbox › off by default › a keyless tell is 401 and the claim routes answer 404', async (t) => {
  const server = await startSecureServer();
  try {
    const reply = await api(server.url).post('/tell', { predicate: 'p', args: [1] });
    assertError(t, reply, 401, 'UNAUTHORIZED');
    t.is(reply.headers.get('x-vesper-sandbox'), null);
    assertError(t, await adminApi(server.url).post('/admin/claims', {}), 404, 'NOT_FOUND');
    assertError(t, await api(server.url).post('/claim', { sandboxToken: 'x', claimToken: 'y' }), 404, 'NOT_FOUND');
  } finally {
    await server.close();
  }
});

test('sandbox › one client address › makes at most VESPER_SANDBOX_PER_HOUR sandboxes (then 429), each with the sandbox facts quota as its own setting', async (t) => {
  const server = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '2', VESPER_SANDBOX_MAX_FACTS: '3' } });
  t.teardown(() => server.close());
  const first = await openSandbox(server.url, { predicate: 'n', args: [1] });
  await openSandbox(server.url, { predicate: 'n', args: [2] });
  const third = await api(server.url).post('/tell', { predicate: 'n', args: [3] });
  assertError(t, third, 429, 'RATE_LIMITED');
  t.like(third.json.details, { limit: 'sandboxes' });
  t.truthy(third.headers.get('retry-after'));
  t.is(third.headers.get('x-vesper-sandbox'), null, 'no sandbox was made');
  const settings = await adminApi(server.url).get(`/admin/databases/default/tenants/${first.tenant}/settings`);
  t.like(settings.json.settings?.maxFacts ?? settings.json.maxFacts, { value: 3, source: 'tenant' });
  assertError(t, await first.client.post('/tell', { facts: [{ predicate: 'n', args: [4] }, { predicate: 'n', args: [5] }, { predicate: 'n', args: [6] }] }), 403, 'QUOTA_EXCEEDED');
});

test('sandbox › behind a trusted proxy (VESPER_TRUST_PROXY=1) › the per-address cap counts the forwarded client address; without it, a forwarded header changes nothing', async (t) => {
  const proxied = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '1', VESPER_TRUST_PROXY: '1' } });
  const direct = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '1' } });
  t.teardown(async () => {
    await proxied.close();
    await direct.close();
  });
  const from = (url: string, address: string) => api(url).with({ 'X-Forwarded-For': `203.0.113.9, ${address}` });
  // Proxied: two clients (the last hop differs) get a sandbox each; the same client again is refused.
  t.is((await from(proxied.url, '198.51.100.1').post('/tell', { predicate: 'n', args: [1] })).status, 200);
  t.is((await from(proxied.url, '198.51.100.2').post('/tell', { predicate: 'n', args: [2] })).status, 200);
  assertError(t, await from(proxied.url, '198.51.100.1').post('/tell', { predicate: 'n', args: [3] }), 429, 'RATE_LIMITED');
  // Direct: the header is a client's claim, not a fact; every request comes from the one socket address.
  t.is((await from(direct.url, '198.51.100.1').post('/tell', { predicate: 'n', args: [1] })).status, 200);
  assertError(t, await from(direct.url, '198.51.100.2').post('/tell', { predicate: 'n', args: [2] }), 429, 'RATE_LIMITED');
});
