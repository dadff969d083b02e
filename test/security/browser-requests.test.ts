// Issue 12, item 7: browser-borne requests. A web page cannot write into a local Vesper (CORS
// "simple request" with a foreign Origin), nor read its replies through DNS rebinding (foreign Host).
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api, rawRequest, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ open: TestServer; allowed: TestServer }>;

test.before(async (t) => {
  // Open mode on 127.0.0.1, as `npm start` runs by default.
  t.context.open = await startTestServer();
  t.context.allowed = await startTestServer({ VESPER_ALLOWED_HOSTS: 'vesper.internal', VESPER_CORS_ORIGINS: 'https://app.example' });
});
test.after.always(async (t) => {
  await t.context.open?.close();
  await t.context.allowed?.close();
});

const hostOf = (url: string) => new URL(url).host;

async function stored(url: string, tenant: string, predicate: string): Promise<number> {
  const reply = await api(url, { 'X-Tenant-ID': tenant }).post('/ask', { predicate, args: ['?x'] });
  return (reply.json.results as unknown[]).length;
}

test('issue 12 item 7 › POST /~acme/tell as text/plain from Origin evil.example with Host evil.example:9300 › 4xx and nothing stored', async (t) => {
  const { url } = t.context.open;
  const tenant = uniqueName('acme');
  const reply = await rawRequest(url, 'POST', `/~${tenant}/tell`, JSON.stringify({ predicate: 'planted', args: ['by-web-page'] }), {
    'content-type': 'text/plain',
    origin: 'http://evil.example',
    host: 'evil.example:9300',
  });
  t.true(reply.status >= 400 && reply.status < 500, reply.text);
  t.is(reply.json.code, 'FORBIDDEN');
  t.is(await stored(url, tenant, 'planted'), 0);
});

test('issue 12 item 7 › a cross-origin simple request with the right Host › refused before it runs', async (t) => {
  const { url } = t.context.open;
  const tenant = uniqueName('acme');
  const reply = await rawRequest(url, 'POST', `/~${tenant}/tell`, JSON.stringify({ predicate: 'planted', args: [1] }), {
    'content-type': 'text/plain',
    origin: 'http://evil.example',
  });
  t.is(reply.status, 403, reply.text);
  t.is(await stored(url, tenant, 'planted'), 0);
  // Open mode: the admin routes too.
  const key = await rawRequest(url, 'POST', '/auth/keys', JSON.stringify({ role: 'admin' }), { 'content-type': 'text/plain', origin: 'http://evil.example' });
  t.is(key.status, 403, key.text);
  t.is((await api(url).get('/auth/keys')).json.keys.length, 0);
});

test('issue 12 item 7 › a DNS-rebinding-shaped request (foreign Host, no Origin) › 4xx for reads and writes, nothing stored', async (t) => {
  const { url } = t.context.open;
  const tenant = uniqueName('acme');
  await api(url, { 'X-Tenant-ID': tenant }).post('/tell', { predicate: 'secret', args: ['s3'] });
  const read = await rawRequest(url, 'POST', `/~${tenant}/ask`, JSON.stringify({ predicate: 'secret', args: ['?x'] }), { host: 'rebind.evil.example:9300' });
  t.is(read.status, 403, read.text);
  t.false(read.text.includes('s3'));
  const write = await rawRequest(url, 'POST', `/~${tenant}/tell`, JSON.stringify({ predicate: 'planted', args: [1] }), { host: 'rebind.evil.example' });
  t.is(write.status, 403, write.text);
  t.is(await stored(url, tenant, 'planted'), 0);
  const mcp = await rawRequest(url, 'GET', '/mcp/sse', undefined, { host: 'rebind.evil.example', 'X-Tenant-ID': tenant });
  t.is(mcp.status, 403, mcp.text);
});

test('issue 12 item 7 › curl-shaped requests (loopback or IP Host, no Origin) › still work, README examples unchanged', async (t) => {
  const { url } = t.context.open;
  const port = new URL(url).port;
  const tenant = uniqueName('acme');
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost']) {
    const reply = await rawRequest(url, 'POST', `/~${tenant}/tell`, JSON.stringify({ predicate: 'ok', args: [host] }), { 'content-type': 'application/x-www-form-urlencoded', host });
    t.is(reply.status, 200, `${host}: ${reply.text}`);
  }
  t.is(await stored(url, tenant, 'ok'), 3);
});

test('issue 12 item 7 › configured host and origin › served, with CORS headers and an answered preflight; others refused', async (t) => {
  const { url } = t.context.allowed;
  const tenant = uniqueName('acme');
  const named = await rawRequest(url, 'POST', `/~${tenant}/tell`, JSON.stringify({ predicate: 'p', args: [1] }), { host: 'vesper.internal:9300' });
  t.is(named.status, 200, named.text);
  const preflight = await fetch(`${url}/~${tenant}/tell`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
  t.regex(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  const fromApp = await api(url, { origin: 'https://app.example', 'X-Tenant-ID': tenant }).post('/ask', { predicate: 'p', args: ['?x'] });
  t.is(fromApp.status, 200, fromApp.text);
  t.is(fromApp.headers.get('access-control-allow-origin'), 'https://app.example');
  const other = await api(url, { origin: 'https://other.example', 'X-Tenant-ID': tenant }).post('/tell', { predicate: 'p', args: [2] });
  t.is(other.status, 403, other.text);
  t.is(other.headers.get('access-control-allow-origin'), null);
  const unnamed = await rawRequest(url, 'GET', '/health', undefined, { host: 'not-configured.example' });
  t.is(unnamed.status, 403);
  t.truthy(hostOf(url));
});
