/** Lifecycle webhooks: signed, retried with backoff from a persistent outbox, delivered once the receiver recovers, also across a restart. */
import { once } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { signatureOf } from '../../src/service/hooks.js';
import { eventually, tellOk, uniqueName } from '../helpers/facts.js';
import { api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn;
const SECRET = 'hook-secret-0123456789';

interface Delivery {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A receiver on loopback that answers 500 to the first `failures` deliveries, then 200. */
async function receiver(failures: number) {
  const seen: Delivery[] = [];
  let failed = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (failed < failures) {
        failed++;
        res.writeHead(500).end('not now');
      } else res.writeHead(200).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('hooks › a receiver failing twice gets the same signed event three times; quota exceeded and deprovisioned follow', async (t) => {
  const hook = await receiver(2);
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_HOOKS_URL: hook.url, VESPER_HOOKS_SECRET: SECRET, VESPER_HOOKS_RETRY_MS: '50' });
  try {
    const tenant = uniqueName('hooked');
    await tellOk(tenantApi(server.url, tenant), { predicate: 'p', args: [1] });
    t.true(await eventually(async () => hook.seen.length >= 3, 10_000), `${hook.seen.length} deliveries`);
    const provisioned = hook.seen.slice(0, 3);
    const ids = provisioned.map((d) => d.headers['x-vesper-event-id']);
    t.is(new Set(ids).size, 1, 'retries carry the same event id');
    for (const d of provisioned) {
      t.is(d.headers['x-vesper-event'], 'tenant.provisioned');
      t.is(d.headers['x-vesper-signature'], signatureOf(SECRET, String(d.headers['x-vesper-timestamp']), d.body));
      t.like(JSON.parse(d.body), { id: ids[0], type: 'tenant.provisioned', data: { database: 'default', tenant } });
    }
    t.is((await api(server.url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, { maxFacts: 1 })).status, 200);
    t.is((await tenantApi(server.url, tenant).post('/tell', { predicate: 'p', args: [2] })).status, 403);
    t.is((await api(server.url).request('DELETE', `/admin/databases/default/tenants/${tenant}`)).status, 200);
    t.true(await eventually(async () => hook.seen.length >= 5, 10_000));
    const later = hook.seen.slice(3).map((d) => JSON.parse(d.body));
    t.like(later[0], { type: 'quota.exceeded', data: { database: 'default', tenant, quota: 'maxFacts', limit: 1, current: 1, requested: 2 } });
    t.like(later[1], { type: 'tenant.deprovisioned', data: { database: 'default', tenant } });
    // Delivery passes are background tasks like the others: counted in /metrics, awaited at shutdown.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const passes = Number(/vesper_background_tasks_total\{task="hook-delivery",outcome="started"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    t.true(passes >= 3, `${passes} delivery passes counted`);
  } finally {
    await server.close();
    await hook.close();
  }
});

test('hooks › an event whose receiver is down is kept in the outbox and delivered after a restart', async (t) => {
  const down = await receiver(1000);
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_HOOKS_URL: down.url, VESPER_HOOKS_SECRET: SECRET, VESPER_HOOKS_RETRY_MS: '1500' });
  const tenant = uniqueName('later');
  await tellOk(tenantApi(server.url, tenant), { predicate: 'p', args: [1] });
  t.true(await eventually(async () => down.seen.length >= 1, 10_000));
  await server.close({ keepData: true });
  const port = new URL(down.url).port;
  await down.close();
  // The receiver is back (200s) at the same address; the restarted server delivers what its outbox kept.
  const up = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  const seen: string[] = [];
  up.listen(Number(port), '127.0.0.1');
  await once(up, 'listening');
  const again = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_HOOKS_URL: down.url, VESPER_HOOKS_SECRET: SECRET, VESPER_HOOKS_RETRY_MS: '1500' }, { dataDir: server.dataDir });
  try {
    t.true(await eventually(async () => seen.length >= 1, 10_000));
    t.like(JSON.parse(seen[0] as string), { id: down.seen[0]?.headers['x-vesper-event-id'], type: 'tenant.provisioned', data: { tenant } });
  } finally {
    await again.close();
    await new Promise<void>((r) => up.close(() => r()));
  }
});

test('hooks › a database with its own hooksUrl setting sends its events there; other databases keep the server\'s; it needs the server\'s secret and is database-only', async (t) => {
  const own = await receiver(0);
  const serverWide = await receiver(0);
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_HOOKS_URL: serverWide.url, VESPER_HOOKS_SECRET: SECRET, VESPER_HOOKS_RETRY_MS: '50' });
  const unsigned = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  try {
    const admin = api(server.url);
    const [mine, theirs] = [uniqueName('hooked-db'), uniqueName('plain-db')];
    t.is((await admin.post('/databases', { name: mine })).status, 201);
    t.is((await admin.post('/databases', { name: theirs })).status, 201);
    const put = await admin.request('PUT', `/admin/databases/${mine}/settings`, { hooksUrl: own.url });
    t.is(put.status, 200, put.text);
    t.like(put.json.settings.hooksUrl, { value: own.url, source: 'database' });
    t.like((await admin.get(`/admin/databases/${theirs}/settings`)).json.settings.hooksUrl, { value: serverWide.url, source: 'server' });
    const tenant = uniqueName('t');
    await tellOk(api(server.url, { 'X-Database': mine, 'X-Tenant-ID': tenant }), { predicate: 'p', args: [1] });
    await tellOk(api(server.url, { 'X-Database': theirs, 'X-Tenant-ID': tenant }), { predicate: 'p', args: [1] });
    t.true(await eventually(async () => own.seen.length >= 1 && serverWide.seen.length >= 1, 10_000));
    const ownEvent = JSON.parse(own.seen[0]?.body ?? '{}');
    t.like(ownEvent, { type: 'tenant.provisioned', data: { database: mine, tenant } });
    t.is(own.seen[0]?.headers['x-vesper-signature'], signatureOf(SECRET, String(own.seen[0]?.headers['x-vesper-timestamp']), own.seen[0]?.body ?? ''));
    t.like(JSON.parse(serverWide.seen[0]?.body ?? '{}'), { data: { database: theirs, tenant } });
    t.false(serverWide.seen.some((d) => d.body.includes(mine)), 'the server-wide receiver never sees the database with its own URL');
    // Database-only: a tenant cannot redirect its events.
    t.is((await admin.request('PUT', `/admin/databases/${mine}/tenants/${tenant}/settings`, { hooksUrl: serverWide.url })).status, 400);
    // Without a secret nothing could be signed: the setting is refused, not silently useless.
    const refused = await api(unsigned.url).request('PUT', '/admin/databases/default/settings', { hooksUrl: own.url });
    t.is(refused.status, 400, refused.text);
    t.regex(refused.json.message, /VESPER_HOOKS_SECRET/);
  } finally {
    await server.close();
    await unsigned.close();
    await own.close();
    await serverWide.close();
  }
});
