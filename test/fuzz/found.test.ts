// What the OpenAPI fuzzer found, each reproduced as it was found (test/fuzz/openapi.test.ts).
import { Agent, request } from 'node:http';
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type TestServer, api, rawRequest, startTestServer } from '../helpers/server.js';
import { openSession, openSseSession } from './mcp.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const MCP = { accept: 'application/json, text/event-stream', 'x-tenant-id': 't1', 'x-database': 'default' };

test('fuzz › a request line over the 16 KB header limit is a 400 envelope, not a bare 431', async (t) => {
  const reply = await rawRequest(t.context.server.url, 'GET', `/facts?predicate=${'y'.repeat(50_000)}`, undefined, { 'x-tenant-id': 't1' });
  t.is(reply.status, 400, reply.text);
  t.is(reply.json?.code, 'VALIDATION_ERROR');
  t.deepEqual(Object.keys(reply.json ?? {}).sort(), ['code', 'details', 'message', 'type']);
  t.is((await fetch(`${t.context.server.url}/health`)).status, 200);
});

test('fuzz › MCP tools/call whose arguments are not an object is a 400 envelope, not JSON-RPC internal error', async (t) => {
  const { id } = await openSession(t.context.server.url);
  for (const args of [false, [1, 2], 3, 'x']) {
    const reply = await api(t.context.server.url, { ...MCP, 'mcp-session-id': id }).post('/mcp', { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'teach', arguments: args } });
    assertError(t, reply, 400, 'VALIDATION_ERROR');
    t.is(reply.json?.details?.method, 'tools/call');
  }
});

test('fuzz › MCP initialize with malformed params inside a session is a 400 envelope', async (t) => {
  const { id } = await openSession(t.context.server.url);
  const reply = await api(t.context.server.url, { ...MCP, 'mcp-session-id': id }).post('/mcp', { jsonrpc: '2.0', id: 5, method: 'initialize', params: { protocolVersion: null, capabilities: {} } });
  assertError(t, reply, 400, 'VALIDATION_ERROR');
});

test('fuzz › MCP resources/read of a URI that does not parse is a 400 envelope', async (t) => {
  const { id } = await openSession(t.context.server.url);
  const reply = await api(t.context.server.url, { ...MCP, 'mcp-session-id': id }).post('/mcp', { jsonrpc: '2.0', id: 5, method: 'resources/read', params: { uri: '__proto__' } });
  assertError(t, reply, 400, 'VALIDATION_ERROR');
  // A well-formed call in the same session still works.
  const list = await api(t.context.server.url, { ...MCP, 'mcp-session-id': id }).post('/mcp', { jsonrpc: '2.0', id: 6, method: 'tools/list' });
  t.is(list.status, 200);
});

test('fuzz › a legacy SSE message that is not JSON-RPC, or not sent as JSON, is a 400 envelope, not plain text', async (t) => {
  const sse = await openSseSession(t.context.server.url);
  try {
    const path = `/mcp/messages?sessionId=${encodeURIComponent(sse.id)}`;
    const client = api(t.context.server.url, { 'x-tenant-id': 't1', 'x-database': 'default' });
    assertError(t, await client.post(path, { jsonrpc: '2.0', id: null, method: 'tools/list' }), 400, 'VALIDATION_ERROR');
    assertError(t, await client.post(path, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]), 400, 'VALIDATION_ERROR');
    assertError(t, await client.post(path, '{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'content-type': 'text/plain' }), 400, 'VALIDATION_ERROR');
    assertError(t, await client.post(path, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ask', arguments: 3 } }), 400, 'VALIDATION_ERROR');
    const ping = await client.post(path, { jsonrpc: '2.0', id: 3, method: 'ping' });
    t.is(ping.status, 202);
    t.deepEqual(sse.problems, []);
  } finally {
    sse.close();
  }
});

/** Two requests on one kept-alive connection; the second's status and time, or its error. */
async function secondOnSameConnection(url: string, headers: Record<string, string>, body: string): Promise<{ first: number; second: string; ms: number }> {
  const { port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method: string, path: string, h: Record<string, string>, b?: string) =>
    new Promise<{ status: string; reused: boolean }>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: b === undefined ? h : { ...h, 'content-length': String(Buffer.byteLength(b)) }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: String(res.statusCode), reused: req.reusedSocket }));
      });
      req.on('error', (error) => resolve({ status: `error ${error.message}`, reused: req.reusedSocket }));
      req.end(b);
    });
  try {
    const first = await send('POST', '/~t1/tell', headers, body);
    const started = Date.now();
    const second = await send('GET', '/health', {});
    return { first: Number(first.status), second: `${second.status}${second.reused ? '' : ' (not on the same connection)'}`, ms: Date.now() - started };
  } finally {
    agent.destroy();
  }
}

const BIG = JSON.stringify({ facts: Array.from({ length: 3000 }, (_, i) => ({ predicate: 'p', args: [i, 'x'.repeat(100)] })) });

test('fuzz › a body whose Content-Encoding is a lie leaves its kept-alive connection usable', async (t) => {
  for (const encoding of ['gzip', 'deflate', 'br']) {
    const { first, second, ms } = await secondOnSameConnection(t.context.server.url, { 'content-type': 'application/json', 'content-encoding': encoding }, BIG);
    t.is(first, 400, encoding);
    t.is(second, '200', encoding);
    t.true(ms < 2000, `${encoding}: the next request waited ${ms} ms`);
  }
});
