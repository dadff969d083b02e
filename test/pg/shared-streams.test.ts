// Issue 16, several processes on one PostgreSQL: the change stream, the limiters and database drops.
// Two real server processes on the same tables (as two-processes.test.ts); a change stream open on
// one delivers, and closes for, what is done through the other. PostgreSQL only (`npm run test:pg`).
import { randomBytes } from 'node:crypto';
import { openStream } from '../events/stream.js';
import type { ChildServer } from '../helpers/child.js';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type Api, api } from '../helpers/server.js';
import { ADMIN_KEY, bearer } from '../security/support.js';
import { twoServers } from './support.js';


const REFUSALS_PER_MINUTE = 6;
const SANDBOXES_PER_HOUR = 2;
// Behind a "proxy": each limiter test speaks for a client address of its own (X-Forwarded-For).
const env = {
  VESPER_ADMIN_KEY: ADMIN_KEY,
  VESPER_RATE_LIMIT: '0',
  VESPER_TRUST_PROXY: '1',
  VESPER_AUTH_FAILURE_LIMIT: String(REFUSALS_PER_MINUTE),
  VESPER_SANDBOX: '1',
  VESPER_SANDBOX_PER_HOUR: String(SANDBOXES_PER_HOUR),
};

const test = twoServers(env);

const admin = (server: ChildServer, tenant: string, database = 'default'): Api => api(server.url, { ...bearer(ADMIN_KEY), 'X-Tenant-ID': tenant, 'X-Database': database });
const control = (server: ChildServer): Api => api(server.url, bearer(ADMIN_KEY));
const streamOf = (server: ChildServer, tenant: string, headers: Record<string, string> = {}, query = '') =>
  openStream(`${server.url}/events${query}`, { ...bearer(ADMIN_KEY), 'X-Tenant-ID': tenant, ...headers });
const seqsOf = (events: { id?: string }[]) => events.map((e) => Number(e.id));

test('a stream open on A delivers the writes made through B and A, in sequence order, no gap, no duplicate; resumable on B', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('feed');
  t.is((await admin(a, tenant).post('/tell', { predicate: 'seed', args: [0] })).status, 200);
  const stream = await streamOf(a, tenant);
  t.teardown(() => stream.close());
  await stream.waitForComment(/connected/);
  // Concurrent writes through both processes: the numbers interleave between them.
  const writes = Array.from({ length: 12 }, (_, i) => admin(i % 2 === 0 ? b : a, tenant).post('/tell', { predicate: 'n', args: [i] }));
  t.deepEqual((await Promise.all(writes)).map((r) => r.status), Array(12).fill(200));
  const events = await stream.waitFor(12, 4000);
  const audit = await admin(b, tenant).get('/audit?limit=100');
  const told: number[] = audit.json.events.filter((e: { op: string; seq: number }) => e.op === 'told').map((e: { seq: number }) => e.seq);
  t.deepEqual(seqsOf(events), told.slice(1), 'every write after the stream opened, each once, in log order');
  t.deepEqual(events.map((e) => JSON.parse(e.data).details.facts[0].args[0]).sort((x: number, y: number) => x - y), Array.from({ length: 12 }, (_, i) => i));
  // Resumed on the other process from the sixth event: the rest, then what comes next live.
  const resumed = await streamOf(b, tenant, { 'Last-Event-ID': String(seqsOf(events)[5]) });
  t.teardown(() => resumed.close());
  await resumed.waitFor(6, 4000);
  t.is((await admin(a, tenant).post('/tell', { predicate: 'n', args: [99] })).status, 200);
  const all = await resumed.waitFor(7, 4000);
  const last = await stream.waitFor(13, 4000);
  t.deepEqual(seqsOf(all), seqsOf(last).slice(6));
  t.is(resumed.events.length, 7, 'nothing twice');
});

test('a stream on A ends when the tenant is deleted through B (and delivers nothing of the tenant re-created)', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('gone');
  t.is((await admin(a, tenant).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  const stream = await streamOf(a, tenant);
  t.teardown(() => stream.close());
  await stream.waitForComment(/connected/);
  t.is((await control(b).request('DELETE', `/admin/databases/default/tenants/${tenant}`)).status, 200);
  t.is((await admin(b, tenant).post('/tell', { predicate: 'secret', args: ['of the new tenant'] })).status, 200);
  await stream.waitForComment(/tenant deleted/, 4000);
  await stream.ended;
  t.deepEqual(stream.events, []);
});

test('a stream on A ends when its key is revoked through B, or narrowed by a deletion through B', async (t) => {
  const { a, b } = t.context;
  const [one, two] = [uniqueName('rev1'), uniqueName('rev2')];
  const key = async (tenants: string[]) => (await control(a).post('/auth/keys', { role: 'reader', tenants })).json as { id: string; key: string };
  const revoked = await key([one]);
  const narrowed = await key([one, two]);
  t.is((await admin(a, one).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  t.is((await admin(a, two).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  const first = await openStream(`${a.url}/events`, { ...bearer(revoked.key), 'X-Tenant-ID': one });
  const second = await openStream(`${a.url}/events`, { ...bearer(narrowed.key), 'X-Tenant-ID': two });
  t.teardown(() => {
    first.close();
    second.close();
  });
  await first.waitForComment(/connected/);
  await second.waitForComment(/connected/);
  t.is((await control(b).request('DELETE', `/auth/keys/${revoked.id}`)).status, 200);
  t.is((await admin(b, one).post('/tell', { predicate: 'p', args: [2] })).status, 200);
  await first.waitForComment(/revoked|access ended/, 4000);
  await first.ended;
  t.deepEqual(first.events, [], 'nothing delivered after the revocation');
  // The key keeps tenant one; tenant two (the stream's) is deleted through B.
  t.is((await control(b).request('DELETE', `/admin/databases/default/tenants/${two}`)).status, 200);
  await second.waitForComment(/tenant deleted|access ended/, 4000);
  await second.ended;
  t.deepEqual(second.events, []);
});

test('a database dropped through A while B serves it: B answers 404 (never 500), its stream ends; created again, B serves the new empty one', async (t) => {
  const { a, b } = t.context;
  const database = uniqueName('dropped');
  const tenant = 'acme';
  const listedBy = async (server: ChildServer) => ((await control(server).get('/databases')).json.databases as { name: string }[]).map((d) => d.name);
  t.is((await control(a).post('/databases', { name: database })).status, 201);
  t.true((await listedBy(b)).includes(database), 'B lists a database made through A');
  t.is((await admin(b, tenant, database).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  t.is((await admin(b, tenant, database).post('/ask', { predicate: 'p', args: ['?x'] })).json.results.length, 1);
  const stream = await streamOf(b, tenant, { 'X-Database': database });
  t.teardown(() => stream.close());
  await stream.waitForComment(/connected/);
  t.is((await control(a).request('DELETE', `/databases/${database}`)).status, 200);
  await stream.waitForComment(/deleted|dropped/, 4000);
  await stream.ended;
  assertError(t, await admin(b, tenant, database).post('/ask', { predicate: 'p', args: ['?x'] }), 404, 'NOT_FOUND');
  assertError(t, await admin(b, tenant, database).get('/facts'), 404, 'NOT_FOUND');
  t.false((await listedBy(b)).includes(database), 'B no longer lists it');
  t.is((await control(a).post('/databases', { name: database })).status, 201);
  t.true((await listedBy(b)).includes(database));
  const again = await admin(b, tenant, database).post('/ask', { predicate: 'p', args: ['?x'] });
  t.is(again.status, 200, again.text);
  t.deepEqual(again.json.results, [], 'the new database is empty');
  t.is((await admin(b, tenant, database).post('/tell', { predicate: 'q', args: [2] })).status, 200);
  t.deepEqual((await admin(a, tenant, database).post('/ask', { predicate: 'q', args: ['?x'] })).json.results.map((r: { args: unknown[] }) => r.args), [[2]]);
  // Event numbers of the new database start above the dropped one's on both processes.
  const audit = await admin(a, tenant, database).get('/audit');
  t.true(audit.json.events.every((e: { seq: number }) => e.seq > 1), JSON.stringify(audit.json.events));
});

test('refused requests are counted once across both processes: past the limit, either refuses', async (t) => {
  const { a, b } = t.context;
  const address = `198.51.100.${randomBytes(1)[0]}`;
  const from = (server: ChildServer) => api(server.url, { 'X-Forwarded-For': address, 'X-Tenant-ID': 'anyone', Authorization: `Bearer vsp_sk_${randomBytes(8).toString('hex')}_nope` });
  const statuses: number[] = [];
  for (let i = 0; i < REFUSALS_PER_MINUTE + 2; i++) statuses.push((await from(i % 2 === 0 ? a : b).post('/ask', { predicate: 'p', args: ['?x'] })).status);
  t.deepEqual(statuses, [...Array(REFUSALS_PER_MINUTE).fill(401), 429, 429]);
});

test('sandboxes per client address and hour are counted once across both processes', async (t) => {
  const { a, b } = t.context;
  const address = `203.0.113.${randomBytes(1)[0]}`;
  const from = (server: ChildServer) => api(server.url, { 'X-Forwarded-For': address });
  const statuses: number[] = [];
  for (let i = 0; i < SANDBOXES_PER_HOUR + 2; i++) statuses.push((await from(i % 2 === 0 ? a : b).post('/tell', { predicate: 'n', args: [i] })).status);
  t.deepEqual(statuses, [...Array(SANDBOXES_PER_HOUR).fill(200), 429, 429]);
});
