// Issue 12, item 4: refused requests (401/403/429) never reach the target tenant's audit trail;
// they are counted and logged by the server, and 401/403s are rate-limited per key and per address.
import { request as httpRequest } from 'node:http';
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { ADMIN_KEY, bearer, createKey, expectStatus, startSecureServer } from './support.js';

const test = anyTest as TestFn<{ limited: TestServer; throttled: TestServer }>;
const LIMIT = 5;

test.before(async (t) => {
  t.context.limited = await startSecureServer({ env: { VESPER_AUTH_FAILURE_LIMIT: String(LIMIT) } });
  t.context.throttled = await startSecureServer({ env: { VESPER_RATE_LIMIT: '2' } });
});
test.after.always(async (t) => {
  await t.context.limited?.close();
  await t.context.throttled?.close();
});

/** A request from a chosen loopback address (127.0.0.x), so each test has a client address of its own. */
function from(localAddress: string, url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, localAddress, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const admin = (url: string, path: string, body?: unknown) =>
  from('127.0.0.2', url, body === undefined ? 'GET' : 'POST', path, body, { authorization: `Bearer ${ADMIN_KEY}` });

async function refusedCount(url: string, code: string): Promise<number> {
  const metrics = await fetch(`${url}/metrics`, { headers: bearer(ADMIN_KEY) }).then((r) => r.text());
  const line = metrics.split('\n').find((l) => l.startsWith('vesper_refused_requests_total{') && l.includes(`code="${code}"`) && l.includes('via="http"'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('issue 12 item 4 › a read-only key of t1 writing into t2 › nothing in t2 trail, counted in metrics, 429 after the limit per key and per address', async (t) => {
  const { url } = t.context.limited;
  const db = uniqueName('refused');
  await expectStatus('seed t2', api(url, bearer(ADMIN_KEY)).post(`/db/${db}/~t2/tell`, { predicate: 'p', args: [1] }), 200);
  const reader = await createKey(url, { role: 'reader', databases: [db], tenants: ['t1'], public: true });
  const before = await refusedCount(url, 'FORBIDDEN');
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 2; i++) statuses.push((await from('127.0.0.3', url, 'POST', `/db/${db}/~t2/tell`, { predicate: 'x', args: [i] }, bearer(reader.key))).status);
  t.deepEqual(statuses, [...Array(LIMIT).fill(403), 429, 429]);

  const trail = await admin(url, `/db/${db}/~t2/audit?limit=1000`);
  t.is(trail.status, 200);
  t.deepEqual(
    (trail.json.events as { actor: string; op: string }[]).map((e) => [e.op, e.actor]),
    [['told', 'admin']],
  );
  t.is((await refusedCount(url, 'FORBIDDEN')) - before, LIMIT);

  // Per key: the same key from another address is refused too; per address: another key from 127.0.0.3 as well.
  t.is((await from('127.0.0.4', url, 'POST', `/db/${db}/~t1/ask`, { predicate: 'p', args: ['?x'] }, bearer(reader.key))).status, 429);
  const other = await createKey(url, { role: 'reader', databases: [db], tenants: ['t2'] });
  t.is((await from('127.0.0.3', url, 'POST', `/db/${db}/~t2/ask`, { predicate: 'p', args: ['?x'] }, bearer(other.key))).status, 429);
  t.is((await from('127.0.0.5', url, 'POST', `/db/${db}/~t2/ask`, { predicate: 'p', args: ['?x'] }, bearer(other.key))).status, 200);
});

test('issue 12 item 4 › 401s from one address › rate-limited per address, whatever the token', async (t) => {
  const { url } = t.context.limited;
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 1; i++) statuses.push((await from('127.0.0.6', url, 'POST', '/~acme/ask', { predicate: 'p' }, bearer(`guess-${i}-${'x'.repeat(20)}`))).status);
  t.deepEqual(statuses, [...Array(LIMIT).fill(401), 429]);
  t.true((await refusedCount(url, 'UNAUTHORIZED')) >= LIMIT);
  t.is((await from('127.0.0.7', url, 'POST', '/~acme/ask', { predicate: 'p' }, bearer('guess-elsewhere'))).status, 401);
});

test('issue 12 item 4 › 429s of the tenant rate limit › never written into the audit trail', async (t) => {
  const { url } = t.context.throttled;
  const tenant = uniqueName('busy');
  const writer = await createKey(url, { role: 'writer', tenants: [tenant] });
  const client = api(url, { ...bearer(writer.key), 'X-Tenant-ID': tenant });
  const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => client.post('/tell', { predicate: 'n', args: [i] })));
  const ok = replies.filter((r) => r.status === 200).length;
  t.true(replies.some((r) => r.status === 429), replies.map((r) => r.status).join(','));
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const trail = await expectStatus('audit', client.get('/audit?limit=1000'), 200);
  const events = trail.json.events as { outcome: string }[];
  t.is(events.length, ok, JSON.stringify(events));
  t.true(events.every((e) => e.outcome === 'ok'));
});

test('issue 12 item 4 › refusals of a foreign Origin or Host › counted, but never throttle the address (a web page cannot lock the local user out)', async (t) => {
  const { url } = t.context.limited;
  for (let i = 0; i < LIMIT * 2; i++) {
    t.is((await from('127.0.0.8', url, 'POST', '/~acme/tell', { predicate: 'p', args: [i] }, { origin: 'http://evil.example' })).status, 403);
  }
  t.is((await from('127.0.0.8', url, 'GET', '/auth/keys', undefined, bearer(ADMIN_KEY))).status, 200);
});
