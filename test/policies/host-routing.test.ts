/** Host routing: with VESPER_BASE_HOST, `{tenant}.<base>` names the tenant; header, path and Host must agree; those hosts pass the Host check. */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, rawRequest, startTestServer, tenantApi } from '../helpers/server.js';
import { ok } from '../mcp/client.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_BASE_HOST: 'example.com' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const port = (url: string) => new URL(url).port;

test('host routing › {tenant}.example.com selects the tenant when nothing else names one', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('acme');
  const host = `${tenant}.example.com:${port(url)}`;
  const told = await rawRequest(url, 'POST', '/tell', JSON.stringify({ predicate: 'plan', args: ['pro'] }), { Host: host });
  t.is(told.status, 200, told.text);
  t.is(told.json.facts[0].$context, `vesper://default/~${tenant}`);
  const seen = await tenantApi(url, tenant).post('/ask', { predicate: 'plan', args: ['?p'] });
  t.deepEqual(seen.json.results.map((r: { args: string[] }) => r.args), [['pro']]);
  const asked = await rawRequest(url, 'POST', '/ask', JSON.stringify({ predicate: 'plan', args: ['?p'] }), { Host: host.toUpperCase() });
  t.is(asked.status, 200, asked.text);
  t.is(asked.json.results.length, 1);
});

test('host routing › header, path and Host must agree: the same tenant passes, another is 400', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('acme');
  const host = `${tenant}.example.com`;
  const body = JSON.stringify({ predicate: 'plan', args: ['?p'] });
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: host, 'X-Tenant-ID': tenant })).status, 200);
  t.is((await rawRequest(url, 'POST', `/~${tenant}/ask`, body, { Host: host })).status, 200);
  const header = await rawRequest(url, 'POST', '/ask', body, { Host: host, 'X-Tenant-ID': 'other' });
  t.is(header.status, 400, header.text);
  t.is(header.json.code, 'VALIDATION_ERROR');
  t.regex(header.json.message, /Host/);
  t.is((await rawRequest(url, 'POST', '/~other/ask', body, { Host: host })).status, 400);
  // The base host alone names no tenant.
  const bare = await rawRequest(url, 'POST', '/ask', body, { Host: 'example.com' });
  t.is(bare.status, 400);
  t.regex(bare.json.message, /X-Tenant-ID header is required/);
  const bad = await rawRequest(url, 'POST', '/ask', body, { Host: 'no~pe.example.com' });
  t.is(bad.status, 400, bad.text);
});

test('host routing › other host names are still refused by the Host check (403); without VESPER_BASE_HOST so are tenant hosts', async (t) => {
  const { url } = t.context.server;
  const body = JSON.stringify({ predicate: 'plan', args: ['?p'] });
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: 'acme.evil.com' })).status, 403);
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: 'acme.example.com.evil.com' })).status, 403);
  const plain = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  try {
    t.is((await rawRequest(plain.url, 'POST', '/ask', body, { Host: 'acme.example.com' })).status, 403);
  } finally {
    await plain.close();
  }
});

/**
 * A fetch for the MCP SDK's transports that reaches the test server on loopback while the URL (and
 * so the Host header) names `{tenant}.example.com`: what an agent configured with a tenant's host
 * sends, without a DNS entry for it.
 */
function viaLoopback(port: string): FetchLike {
  return (input, init) =>
    new Promise((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init?.headers));
      const req = httpRequest({ host: '127.0.0.1', port, method: init?.method ?? 'GET', path: url.pathname + url.search, headers: { ...headers, host: url.host }, signal: init?.signal ?? undefined }, (res) => {
        const replyHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        const empty = res.statusCode === 204 || res.statusCode === 304;
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status: res.statusCode ?? 0, headers: replyHeaders }));
      });
      req.on('error', reject);
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}

test('host routing › a real MCP client configured with {tenant}.example.com works in that tenant only (Streamable HTTP and SSE)', async (t) => {
  const { url } = t.context.server;
  for (const kind of ['streamable', 'sse'] as const) {
    const tenant = uniqueName(`mcp-${kind}`);
    const base = `http://${tenant}.example.com:${port(url)}`;
    const transport =
      kind === 'streamable'
        ? new StreamableHTTPClientTransport(new URL('/mcp', base), { fetch: viaLoopback(port(url)) })
        : new SSEClientTransport(new URL('/mcp/sse', base), { fetch: viaLoopback(port(url)), eventSourceInit: { fetch: viaLoopback(port(url)) } });
    const client = new Client({ name: 'vesper-host-test', version: '0.0.0' });
    await client.connect(transport);
    try {
      await ok(client, 'tell', { predicate: 'plan', args: [kind] });
      const asked = await ok(client, 'ask', { predicate: 'plan', args: ['?p'] });
      t.deepEqual(asked.results.map((r: { args: string[] }) => r.args), [[kind]], `${kind}: the connection sees its own tenant`);
    } finally {
      await client.close();
    }
    // The fact landed in the tenant the host names, and nowhere else.
    const seen = await tenantApi(url, tenant).post('/ask', { predicate: 'plan', args: ['?p'] });
    t.deepEqual(seen.json.results.map((r: { args: string[] }) => r.args), [[kind]]);
    const other = await tenantApi(url, 'default').post('/ask', { predicate: 'plan', args: [kind] });
    t.is(other.json.results.length, 0, `${kind}: nothing in the default tenant`);
  }
  // A client whose header names another tenant than its host cannot connect.
  const tenant = uniqueName('mcp-clash');
  const clash = new StreamableHTTPClientTransport(new URL('/mcp', `http://${tenant}.example.com:${port(url)}`), { fetch: viaLoopback(port(url)), requestInit: { headers: { 'X-Tenant-ID': 'someone-else' } } });
  await t.throwsAsync(new Client({ name: 'vesper-host-test', version: '0.0.0' }).connect(clash));
});
