import { connect } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import type { TestServer } from '../helpers/server.js';
import { api } from '../helpers/server.js';
import { ADMIN_KEY, bearer, startSecureServer } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

test('401 › no key or a bad key › says WWW-Authenticate: Bearer realm="vesper", with the envelope', async (t) => {
  const client = api(t.context.server.url, { 'X-Tenant-ID': 'acme' });
  for (const headers of [{}, bearer('vsp_sk_nope'), { 'X-API-Key': 'wrong' }]) {
    const reply = await client.post('/tell', { predicate: 'p', args: [] }, headers);
    t.is(reply.status, 401);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="vesper"');
    t.is(reply.json.code, 'UNAUTHORIZED');
  }
  t.is((await client.get('/facts', bearer(ADMIN_KEY))).status, 200);
});

test('public routes › /health and /openapi.json › answer without a key, and hold no tenant data', async (t) => {
  const client = api(t.context.server.url);
  t.is((await client.get('/health')).status, 200);
  const document = await client.get('/openapi.json');
  t.is(document.status, 200);
  t.is(document.json.openapi, '3.1.0');
  t.is(document.json.servers[0].url, t.context.server.url);
  t.is((await client.get('/ready')).status, 401, 'readiness is not public');
});

/**
 * Over a raw socket (so that the server closing it mid-upload is not an error hiding its reply):
 * sends the headers of a 30 MB body, then the body slowly, 64 KiB at a time; resolves with the
 * status of the reply and how many body bytes had been sent when it came.
 */
function slowUpload(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; sentBeforeReply: number }> {
  const total = 30 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = '';
    const socket = connect({ host: hostname, port: Number(port) });
    const timer = setInterval(() => {
      if (sent >= total || socket.destroyed) return;
      socket.write(chunk);
      sent += chunk.length;
    }, 20);
    const finish = (outcome: () => void) => {
      clearInterval(timer);
      socket.destroy();
      outcome();
    };
    signal?.addEventListener('abort', () => finish(() => reject(new Error('aborted'))));
    socket.on('error', () => undefined); // EPIPE/ECONNRESET once the server closes: the reply was read before
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (status) finish(() => resolve({ status: Number(status[1]), sentBeforeReply: sent }));
    });
    socket.on('close', () => finish(() => reject(new Error(`closed without a reply after ${sent} bytes`))));
    const lines = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/json', 'content-length': String(total), ...headers }).map(([k, v]) => `${k}: ${v}`);
    socket.write(`POST /tell HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

test('authentication › an anonymous 30 MB body › is answered 401 before the body is sent (never parsed)', async (t) => {
  const { status, sentBeforeReply } = await slowUpload(t.context.server.url, { 'X-Tenant-ID': 'acme' });
  t.is(status, 401);
  t.true(sentBeforeReply < 2 * 1024 * 1024, `the reply came after ${sentBeforeReply} of 30 MB`);
});

test('authentication › the same slow body with the admin key › is read (the control: the server does wait for a body it will parse)', async (t) => {
  const small = await api(t.context.server.url, { ...bearer(ADMIN_KEY), 'X-Tenant-ID': 'acme' }).post('/tell', { predicate: 'p', args: [] });
  t.is(small.status, 200);
  const stop = new AbortController();
  const client = slowUpload(t.context.server.url, { ...bearer(ADMIN_KEY), 'X-Tenant-ID': 'acme' }, stop.signal);
  const early = await Promise.race([client.then(() => 'answered', () => 'failed'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
  t.is(early, 'waiting', 'an authenticated upload is not answered before its body arrives');
  stop.abort();
  await client.catch(() => undefined);
});
