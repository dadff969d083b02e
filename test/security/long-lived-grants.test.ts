// Issue 12, item 1: long-lived MCP sessions and /events streams follow the key's grants as they
// are now, not as they were when the connection opened.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import anyTest, { type TestFn } from 'ava';
import { openStream, sleep } from '../events/stream.js';
import { TRANSPORTS, call, connect, ok } from '../mcp/client.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { adminApi, bearer, createKey, expectStatus, startSecureServer } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;
/** Long enough for a loaded machine to set the connection up before the key expires. */
const EXPIRY_MS = 4000;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

/**
 * A tool call on a session that should have lost access: refused (isError), or the session is
 * gone (the transport fails). Never a result. Bounded, so a closed SSE session cannot hang the test.
 */
async function refused(client: Client, tool: string, args: Record<string, unknown>): Promise<string> {
  const attempt = call(client, tool, args).then(
    (reply) => (reply.isError ? `refused: ${reply.json.code}` : `ANSWERED: ${JSON.stringify(reply.json)}`),
    (error: unknown) => `closed: ${(error as Error).message}`,
  );
  const timeout = sleep(5000).then(() => 'closed: no answer');
  return Promise.race([attempt, timeout]);
}

const tellAs = (url: string, db: string, tenant: string, fact: unknown) =>
  expectStatus(`tell into ${db}/${tenant}`, adminApi(url).post(`/db/${db}/~${tenant}/tell`, fact), 200);

async function adminFacts(url: string, db: string, tenant: string, predicate: string): Promise<unknown[]> {
  const reply = await expectStatus('admin ask', adminApi(url).post(`/db/${db}/~${tenant}/ask`, { predicate, args: ['?x'] }), 200);
  return (reply.json.results as { bindings: { x: unknown } }[]).map((r) => r.bindings.x);
}

for (const kind of TRANSPORTS) {
  test(`issue 12 item 1 › ${kind} MCP session on t3 › after t3 is deleted and written again it reads nothing and tells nothing`, async (t) => {
    const { url } = t.context.server;
    const db = uniqueName('grants');
    await tellAs(url, db, 't1', { predicate: 'seed', args: [1] });
    await tellAs(url, db, 't3', { predicate: 'old', args: ['before'] });
    const key = await createKey(url, { role: 'writer', databases: [db], tenants: ['t1', 't3'] });
    const client = await connect(url, kind, { ...bearer(key.key), 'X-Database': db, 'X-Tenant-ID': 't3' });
    try {
      t.deepEqual((await ok(client, 'ask', { predicate: 'old', args: ['?x'] })).results.length, 1);
      const deleted = await expectStatus('delete t3', adminApi(url).request('DELETE', `/admin/databases/${db}/tenants/t3`), 200);
      t.deepEqual(deleted.json.keys.narrowed, [key.id]);
      await tellAs(url, db, 't3', { predicate: 'secret', args: ['new-t3'] });
      t.regex(await refused(client, 'ask', { predicate: 'secret', args: ['?x'] }), /^(refused|closed)/);
      t.regex(await refused(client, 'tell', { predicate: 'planted', args: ['by-old-session'] }), /^(refused|closed)/);
      t.deepEqual(await adminFacts(url, db, 't3', 'planted'), []);
      // REST says the same, and the key keeps t1.
      t.is((await api(url, { ...bearer(key.key), 'X-Database': db }).post('/~t3/ask', { predicate: 'secret', args: ['?x'] })).status, 403);
      t.is((await api(url, { ...bearer(key.key), 'X-Database': db }).post('/~t1/ask', { predicate: 'seed', args: ['?x'] })).status, 200);
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  test(`issue 12 item 1 › ${kind} MCP session › after its database is dropped and re-created it reads and tells nothing`, async (t) => {
    const { url } = t.context.server;
    const db = uniqueName('dropped');
    const other = uniqueName('kept');
    await tellAs(url, db, 'acme', { predicate: 'old', args: ['before'] });
    const key = await createKey(url, { role: 'writer', databases: [db, other], tenants: ['acme'] });
    const client = await connect(url, kind, { ...bearer(key.key), 'X-Database': db, 'X-Tenant-ID': 'acme' });
    try {
      await ok(client, 'ask', { predicate: 'old', args: ['?x'] });
      const dropped = await expectStatus('drop', adminApi(url).request('DELETE', `/databases/${db}`), 200);
      t.deepEqual(dropped.json.keys.narrowed, [key.id]);
      await expectStatus('re-create', adminApi(url).post('/databases', { name: db }), 201);
      await tellAs(url, db, 'acme', { predicate: 'secret', args: ['new-db'] });
      t.regex(await refused(client, 'ask', { predicate: 'secret', args: ['?x'] }), /^(refused|closed)/);
      t.regex(await refused(client, 'tell', { predicate: 'planted', args: ['x'] }), /^(refused|closed)/);
      t.deepEqual(await adminFacts(url, db, 'acme', 'planted'), []);
    } finally {
      await client.close().catch(() => undefined);
    }
  });
}

test('issue 12 item 1 › an /events stream on t3 › ends when t3 is deleted and streams nothing of the new t3', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('evgrants');
  await tellAs(url, db, 't3', { predicate: 'old', args: ['before'] });
  const key = await createKey(url, { role: 'reader', databases: [db], tenants: ['t1', 't3'] });
  const stream = await openStream(`${url}/db/${db}/~t3/events`, bearer(key.key));
  try {
    t.is(stream.status, 200);
    await stream.waitForComment(/connected/);
    await expectStatus('delete t3', adminApi(url).request('DELETE', `/admin/databases/${db}/tenants/t3`), 200);
    await tellAs(url, db, 't3', { predicate: 'secret', args: ['new-t3'] });
    await stream.ended;
    t.false(stream.events.some((e) => e.data.includes('new-t3')), JSON.stringify(stream.events));
    t.true(stream.comments.some((c) => /deleted|access ended/.test(c)), JSON.stringify(stream.comments));
  } finally {
    stream.close();
  }
});

test('issue 12 item 1 › an /events stream of a key for every tenant › ends when its tenant is deleted (its sequence is gone)', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('evall');
  await tellAs(url, db, 'acme', { predicate: 'old', args: ['before'] });
  const key = await createKey(url, { role: 'reader', databases: [db] });
  const stream = await openStream(`${url}/db/${db}/~acme/events`, bearer(key.key));
  try {
    await stream.waitForComment(/connected/);
    await expectStatus('delete acme', adminApi(url).request('DELETE', `/admin/databases/${db}/tenants/acme`), 200);
    t.truthy(await stream.waitForComment(/tenant deleted/));
    await stream.ended;
  } finally {
    stream.close();
  }
});

test('issue 12 item 1 › a key that expires while its /events stream is open › receives nothing after its expiry and the stream ends', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('expiry');
  await tellAs(url, db, 'acme', { predicate: 'seed', args: [0] });
  const expiresAt = Date.now() + EXPIRY_MS;
  const key = await createKey(url, { role: 'reader', databases: [db], tenants: ['acme'], expiresAt });
  const stream = await openStream(`${url}/db/${db}/~acme/events?keepalive=100`, bearer(key.key));
  try {
    t.is(stream.status, 200);
    await stream.waitForComment(/connected/);
    await tellAs(url, db, 'acme', { predicate: 'seen', args: ['before-expiry'] });
    await stream.waitFor(1);
    await sleep(expiresAt - Date.now() + 200);
    await tellAs(url, db, 'acme', { predicate: 'secret', args: ['after-expiry'] });
    await stream.ended;
    t.false(stream.events.some((e) => e.data.includes('after-expiry')), JSON.stringify(stream.events));
    t.true(stream.events.some((e) => e.data.includes('before-expiry')));
  } finally {
    stream.close();
  }
});

test('issue 12 item 1 › an MCP session whose key expires › its next tool call is refused', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('mcpexp');
  const expiresAt = Date.now() + EXPIRY_MS;
  const key = await createKey(url, { role: 'writer', databases: [db], tenants: ['acme'], expiresAt });
  const client = await connect(url, 'sse', { ...bearer(key.key), 'X-Database': db, 'X-Tenant-ID': 'acme' });
  try {
    await ok(client, 'tell', { predicate: 'early', args: [1] });
    await sleep(expiresAt - Date.now() + 200);
    t.regex(await refused(client, 'tell', { predicate: 'late', args: [2] }), /^(refused|closed)/);
    t.deepEqual(await adminFacts(url, db, 'acme', 'late'), []);
  } finally {
    await client.close().catch(() => undefined);
  }
});

test('issue 12 item 1 › an /events stream › ends when its database is dropped, and streams nothing of the re-created one', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('evdrop');
  await tellAs(url, db, 'acme', { predicate: 'old', args: ['before'] });
  const key = await createKey(url, { role: 'reader', databases: [db, uniqueName('other')], tenants: ['acme'] });
  const stream = await openStream(`${url}/db/${db}/~acme/events`, bearer(key.key));
  try {
    await stream.waitForComment(/connected/);
    await expectStatus('drop', adminApi(url).request('DELETE', `/databases/${db}`), 200);
    await expectStatus('re-create', adminApi(url).post('/databases', { name: db }), 201);
    await tellAs(url, db, 'acme', { predicate: 'secret', args: ['new-db'] });
    await stream.ended;
    t.false(stream.events.some((e) => e.data.includes('new-db')), JSON.stringify(stream.events));
    t.true(stream.comments.some((c) => /deleted|access ended/.test(c)), JSON.stringify(stream.comments));
  } finally {
    stream.close();
  }
});
