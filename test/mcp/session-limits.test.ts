// Issue 12, item 5: MCP `initialize` spends the rate limit, sessions per key are capped, idle sessions close.
import anyTest, { type TestFn } from 'ava';
import { sleep } from '../events/stream.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { ADMIN_KEY, bearer, createKey } from '../security/support.js';
import { call, connect, ok } from './client.js';

const test = anyTest as TestFn<{ throttled: TestServer; capped: TestServer; idle: TestServer }>;

test.before(async (t) => {
  const auth = { VESPER_ADMIN_KEY: ADMIN_KEY, VESPER_AUTH_FAILURE_LIMIT: '0' };
  [t.context.throttled, t.context.capped, t.context.idle] = await Promise.all([
    startTestServer({ ...auth, VESPER_RATE_LIMIT: '3' }),
    startTestServer({ ...auth, VESPER_RATE_LIMIT: '0', VESPER_MCP_MAX_SESSIONS_PER_KEY: '3' }),
    startTestServer({ ...auth, VESPER_RATE_LIMIT: '0', VESPER_MCP_IDLE_MS: '2000' }),
  ]);
});
test.after.always(async (t) => {
  await Promise.all([t.context.throttled?.close(), t.context.capped?.close(), t.context.idle?.close()]);
});

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'flood', version: '0' } } };

/** One Streamable HTTP initialize, as a client that never closes its sessions would send it. */
async function initialize(url: string, headers: Record<string, string>): Promise<{ status: number; sessionId: string | null }> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'X-Tenant-ID': 'acme', ...headers },
    body: JSON.stringify(INITIALIZE),
  });
  await response.text();
  return { status: response.status, sessionId: response.headers.get('mcp-session-id') };
}

test('issue 12 item 5 › a burst of initialize requests › spends the tenant rate limit (429 beyond it)', async (t) => {
  const { url } = t.context.throttled;
  const key = await createKey(url, { role: 'reader', tenants: ['acme'], public: true });
  const statuses = (await Promise.all(Array.from({ length: 10 }, () => initialize(url, bearer(key.key))))).map((r) => r.status);
  // 3 a second: a burst of 10 gets 429s (a slow machine may see a new second begin, hence no exact count).
  t.true(statuses.includes(429), statuses.join(','));
});

test('issue 12 item 5 › sessions per key › capped (429), another key unaffected, room again once one is deleted', async (t) => {
  const { url } = t.context.capped;
  const key = await createKey(url, { role: 'reader', tenants: ['acme'], public: true });
  const opened = [];
  for (let i = 0; i < 3; i++) opened.push(await initialize(url, bearer(key.key)));
  t.deepEqual(opened.map((o) => o.status), [200, 200, 200]);
  const refused = await initialize(url, bearer(key.key));
  t.is(refused.status, 429);
  // The legacy transport counts toward the same cap.
  const sse = await fetch(`${url}/mcp/sse`, { headers: { ...bearer(key.key), 'X-Tenant-ID': 'acme' } });
  t.is(sse.status, 429);
  await sse.text();
  const other = await createKey(url, { role: 'reader', tenants: ['acme'] });
  t.is((await initialize(url, bearer(other.key))).status, 200);
  const closed = await fetch(`${url}/mcp`, { method: 'DELETE', headers: { ...bearer(key.key), 'X-Tenant-ID': 'acme', 'mcp-session-id': opened[0]?.sessionId ?? '' } });
  t.is(closed.status, 200);
  t.is((await initialize(url, bearer(key.key))).status, 200);
});

for (const kind of ['streamable', 'sse'] as const) {
  test(`issue 12 item 5 › an idle ${kind} session › is closed after VESPER_MCP_IDLE_MS`, async (t) => {
    const { url } = t.context.idle;
    const key = await createKey(url, { role: 'writer', tenants: ['acme'] });
    const client = await connect(url, kind, { ...bearer(key.key), 'X-Tenant-ID': 'acme' });
    try {
      await ok(client, 'ask', { predicate: 'p', args: ['?x'] });
      await sleep(5000);
      const after = await Promise.race([
        call(client, 'ask', { predicate: 'p', args: ['?x'] }).then(
          (r) => `answered ${JSON.stringify(r.json)}`,
          (e: unknown) => `closed: ${(e as Error).message}`,
        ),
        sleep(5000).then(() => 'closed: no answer'),
      ]);
      t.regex(after, /^closed/);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
}
