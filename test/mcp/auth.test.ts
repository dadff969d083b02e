import anyTest, { type TestFn } from 'ava';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';
import { TRANSPORTS, type TransportKind, call, connect, ok } from './client.js';

const ADMIN_KEY = 'mcp-test-admin-key-0123456789';
const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY });
});
test.after.always(async (t) => {
  await t.context.server.close();
});

async function createKey(url: string, role: 'reader' | 'writer', tenants: string[]): Promise<{ id: string; key: string }> {
  const reply = await api(url, { Authorization: `Bearer ${ADMIN_KEY}` }).post('/auth/keys', { role, tenants });
  if (reply.status !== 201) throw new Error(`key creation failed: ${reply.text}`);
  return reply.json;
}

async function revoke(url: string, id: string): Promise<void> {
  const reply = await api(url, { Authorization: `Bearer ${ADMIN_KEY}` }).request('DELETE', `/auth/keys/${id}`);
  if (reply.status !== 200) throw new Error(`revocation failed: ${reply.text}`);
}

for (const kind of TRANSPORTS) {
  test(`auth › over ${kind} › no key is refused with 401, a wrong key too`, async (t) => {
    const { url } = t.context.server;
    await t.throwsAsync(connect(url, kind, { 'X-Tenant-ID': 'acme' }), { message: /401|Unauthorized|invalid, revoked|API key is required/i });
    await t.throwsAsync(connect(url, kind, { 'X-Tenant-ID': 'acme', Authorization: 'Bearer vsp_sk_nope' }), { message: /401|Unauthorized|invalid/i });
  });

  test(`auth › over ${kind} › a key for another tenant cannot open a session there (403)`, async (t) => {
    const { url } = t.context.server;
    const { key } = await createKey(url, 'writer', ['acme']);
    await t.throwsAsync(connect(url, kind, { 'X-Tenant-ID': 'globex', 'X-API-Key': key }), { message: /403|Forbidden|no access/i });
  });

  test(`auth › over ${kind} › a reader key can ask but its tell is an isError FORBIDDEN`, async (t) => {
    const { url } = t.context.server;
    const { key } = await createKey(url, 'reader', ['acme']);
    const client = await connect(url, kind, { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
    try {
      t.deepEqual(await ok(client, 'ask', { predicate: 'x', args: [] }), { results: [] });
      const denied = await call(client, 'tell', { predicate: 'x', args: [] });
      t.true(denied.isError);
      t.is(denied.json.code, 'FORBIDDEN');
      t.is(denied.json.type, 'ForbiddenException');
      t.is((await call(client, 'fork_scope', { source: 'main', target: 'h' })).json.code, 'FORBIDDEN');
    } finally {
      await client.close();
    }
  });

  test(`auth › over ${kind} › revoking the key closes the session: the client sees it and its next call fails`, async (t) => {
    const { url } = t.context.server;
    const { id, key } = await createKey(url, 'writer', ['acme']);
    const client = await connect(url, kind, { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
    try {
      await ok(client, 'tell', { predicate: 'before', args: [kind] });
      const noticed = new Promise<string>((resolve) => {
        client.onclose = () => resolve('closed');
        client.onerror = () => resolve('error');
      });
      await revoke(url, id);
      t.regex(await withTimeout(noticed, 5000), /closed|error/);
      await t.throwsAsync(call(client, 'ask', { predicate: 'before', args: ['?k'] }));
    } finally {
      await client.close();
    }
  });
}

test('auth › a session id is no capability: requests on it with another key or tenant are refused', async (t) => {
  const { url } = t.context.server;
  const { key } = await createKey(url, 'writer', ['acme']);
  const other = await createKey(url, 'writer', ['acme']);
  const client: Client = await connect(url, 'streamable', { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
  try {
    const transport = client.transport as unknown as { sessionId?: string };
    const sessionId = transport.sessionId ?? '';
    t.true(sessionId.length > 0);
    const body = { jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'ask', arguments: { predicate: 'x', args: [] } } };
    const headers = { 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-06-18', Accept: 'application/json, text/event-stream' };
    const otherKey = await api(url).post('/mcp', body, { ...headers, 'X-Tenant-ID': 'acme', Authorization: `Bearer ${other.key}` });
    t.is(otherKey.status, 403);
    t.is(otherKey.json.code, 'FORBIDDEN');
    const admin = await api(url).post('/mcp', body, { ...headers, 'X-Tenant-ID': 'globex', Authorization: `Bearer ${ADMIN_KEY}` });
    t.is(admin.status, 403);
    const unknown = await api(url).post('/mcp', body, { ...headers, 'Mcp-Session-Id': 'nope', 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
    t.is(unknown.status, 404);
    t.deepEqual(await ok(client, 'ask', { predicate: 'x', args: [] }), { results: [] });
  } finally {
    await client.close();
  }
});

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);
}

export type { TransportKind };
