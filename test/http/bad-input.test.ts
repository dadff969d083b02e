// Issue 12, item 9: bad input never reaches validation too deep, never comes back whole, and
// never holds a socket; a 500 that escapes the error middleware is still logged with its request id.
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { createApp } from '../../src/http/app.js';
import type { Services } from '../../src/service/services.js';
import { assertError } from '../helpers/envelope.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const nested = (depth: number) => `{"name":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`;

test('issue 12 item 9 › POST /databases with a name nested 5,000 arrays deep › a JSON 400, not a plain-text 500', async (t) => {
  const reply = await api(t.context.server.url).post('/databases', nested(5000));
  assertError(t, reply, 400, 'VALIDATION_ERROR');
  t.regex(reply.json.message, /deeper than/);
});

test('issue 12 item 9 › names nested 1,000–3,000 levels, or a long value › the 400 echoes only a short excerpt', async (t) => {
  const client = api(t.context.server.url);
  for (const depth of [1000, 2000, 3000, 90]) {
    const reply = await client.post('/databases', nested(depth));
    assertError(t, reply, 400, 'VALIDATION_ERROR');
    t.true(reply.text.length < 1000, `depth ${depth}: ${reply.text.length} bytes`);
  }
  const long = await client.post('/databases', { name: 'n'.repeat(100_000) });
  assertError(t, long, 400, 'VALIDATION_ERROR');
  t.true(long.text.length < 1000, `${long.text.length} bytes`);
  const wide = await client.post('/databases', { name: Array.from({ length: 10_000 }, (_, i) => i) });
  assertError(t, wide, 400, 'VALIDATION_ERROR');
  t.true(wide.text.length < 1000, `${wide.text.length} bytes`);
});

/** A GET with a body, the way the reproduction sent it; resolves with the status and whether the server closed the socket. */
function getWithBody(url: string, path: string): Promise<{ status: number; connection: string | undefined; closedMs: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: 'GET', path, agent: false, headers: { 'X-Tenant-ID': 'acme', 'content-type': 'application/json', 'content-length': '1000' } }, (res) => {
      res.resume();
      res.socket.once('close', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, closedMs: Date.now() - started }));
    });
    req.on('error', reject);
    // Part of the announced body only: the server must not wait for the rest.
    req.write('{"x":1}');
  });
}

for (const path of ['/mcp/sse', '/events', '/mcp']) {
  test(`issue 12 item 9 › GET ${path} with a request body › refused and its socket closed at once`, async (t) => {
    const reply = await getWithBody(t.context.server.url, path);
    t.is(reply.status, 400);
    t.is(reply.connection, 'close');
    t.true(reply.closedMs < 5000, `${reply.closedMs} ms`);
  });
}

test('issue 12 item 9 › a 500 that escapes the error middleware (a reply that cannot be serialised) › logged with its request id', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // A service whose answer JSON cannot encode (a BigInt): koa fails while writing the reply.
  const services = {
    databases: { list: () => [{ name: 'x', size: 1n }] },
    access: { watch: () => () => undefined },
  } as unknown as Services;
  const { app } = createApp({ services, logger: pino({ level: 'error' }, sink), health: { version: 't', auth: 'open', ready: () => true, databases: () => ({ open: 0, maxOpen: 1, leases: 0, storageFull: false }) }, maxBody: 1024 * 1024, authEnabled: false, rateLimit: 0 });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as AddressInfo).port;
    const reply = await fetch(`http://127.0.0.1:${port}/databases`, { headers: { 'X-Request-ID': 'req-escaped-500' } });
    t.is(reply.status, 500);
    await reply.text();
    const logged = lines.map((line) => JSON.parse(line) as { requestId?: string; level: number });
    t.true(logged.some((entry) => entry.requestId === 'req-escaped-500' && entry.level >= 50), lines.join('\n'));
  } finally {
    server.close();
  }
});
