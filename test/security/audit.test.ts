import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { secretOf } from '../helpers/secrets.js';
import { type Api, type TestServer, api } from '../helpers/server.js';
import { type CreatedKey, adminApi, bearer, createKey, expectStatus, startSecureServer } from './support.js';

interface AuditEvent {
  readonly seq: number;
  readonly time: number;
  readonly op: string;
  readonly actor: string | null;
  readonly target: string;
  readonly outcome: 'ok' | 'error';
  readonly scope?: string | null;
  readonly details?: Record<string, unknown>;
}

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

/** A tenant with a writer and a reader key of its own. */
async function tenantWithKeys(url: string, prefix: string) {
  const tenant = uniqueName(prefix);
  const writer = await createKey(url, { role: 'writer', databases: ['default'], tenants: [tenant] });
  const reader = await createKey(url, { role: 'reader', databases: ['default'], tenants: [tenant] });
  const as = (key: CreatedKey): Api => api(url, { ...bearer(key.key), 'X-Tenant-ID': tenant });
  return { tenant, writer, reader, asWriter: as(writer), asReader: as(reader), asAdmin: adminApi(url).with({ 'X-Tenant-ID': tenant }) };
}

async function auditOf(client: Api, query = ''): Promise<{ events: AuditEvent[]; next: number; text: string }> {
  const reply = await expectStatus('GET /audit', client.get(`/audit${query}`), 200);
  return { events: reply.json.events, next: reply.json.next, text: reply.text };
}

/** The secret part of a token (`vsp_sk_<id>_<secret>`). */

test('audit › every write is recorded with the key id as actor, its operation, target and outcome; never the secret', async (t) => {
  const { url } = t.context.server;
  const { writer, asWriter } = await tenantWithKeys(url, 'audited');
  await expectStatus('tell', asWriter.post('/tell', { facts: [{ predicate: 'plan', args: ['enterprise'] }, { predicate: 'seats', args: [120] }] }), 200);
  await expectStatus('retract', asWriter.post('/retract', { predicate: 'seats', args: [120] }), 200);
  const taught = await expectStatus('teach', asWriter.post('/teach', { head: { predicate: 'paying', args: ['?x'] }, body: [{ predicate: 'plan', args: ['?x'] }] }), 201);
  await expectStatus('fork', asWriter.post('/scope/fork', { source: 'main', target: 'trial' }), 201);
  await expectStatus('tell in fork', asWriter.post('/tell', { predicate: 'plan', args: ['pro'], scope: 'trial' }), 200);
  await expectStatus('merge', asWriter.post('/scope/merge', { source: 'trial', target: 'main', strategy: 'SOURCE_WINS' }), 200);
  await expectStatus('delete scope', asWriter.request('DELETE', '/scope/trial'), 200);

  const { events, text } = await auditOf(asWriter, '?limit=100');
  const summary = events.map((e) => [e.op, e.actor, e.target, e.outcome]);
  t.deepEqual(summary, [
    ['told', writer.id, 'plan,seats', 'ok'],
    ['retracted', writer.id, 'seats', 'ok'],
    ['rule_taught', writer.id, taught.json.id, 'ok'],
    ['scope_forked', writer.id, 'trial', 'ok'],
    ['told', writer.id, 'plan', 'ok'],
    ['scope_merged', writer.id, 'main', 'ok'],
    ['scope_deleted', writer.id, 'trial', 'ok'],
  ]);
  for (const event of events) {
    t.is(typeof event.time, 'number');
    t.true(Number.isInteger(event.seq));
  }
  t.deepEqual(events.map((e) => e.seq), [...events.map((e) => e.seq)].sort((a, b) => a - b), 'in sequence order');
  t.false(text.includes(writer.key), 'the token appears nowhere in the audit reply');
  t.false(text.includes(secretOf(writer.key)), 'nor its secret part');
});

test('audit › failed writes are recorded with outcome "error": a 409 contradiction is; a 403 reader attempt is not (issue 12 item 4)', async (t) => {
  const { url } = t.context.server;
  const { writer, reader, asWriter, asReader } = await tenantWithKeys(url, 'failing');
  await expectStatus('tell NOT p', asWriter.post('/tell', { predicate: 'active', args: ['bob'], negated: true }), 200);
  assertError(t, await asWriter.post('/tell', { predicate: 'active', args: ['bob'] }), 409, 'CONFLICT');
  assertError(t, await asReader.post('/tell', { predicate: 'active', args: ['eve'] }), 403, 'FORBIDDEN');
  assertError(t, await asReader.post('/scope/fork', { source: 'main', target: 'x' }), 403, 'FORBIDDEN');

  const { events, text } = await auditOf(asWriter);
  const failures = events.filter((e) => e.outcome === 'error');
  t.is(failures.length, 1, JSON.stringify(events));
  const [conflict] = failures as [AuditEvent];
  t.like(conflict, { actor: writer.id, outcome: 'error', details: { code: 'CONFLICT' } });
  t.regex(conflict.op, /tell/);
  // The reader was not allowed to act on the tenant: its refused attempts are not in the trail.
  t.false(events.some((e) => e.actor === reader.id), JSON.stringify(events));
  t.false(text.includes(secretOf(writer.key)) || text.includes(secretOf(reader.key)), 'no secret in the audit reply');
  // The facts did not change: the failed writes wrote nothing but their audit entries.
  const facts = await asReader.post('/ask', { predicate: 'active', args: ['?who'] });
  t.deepEqual(facts.json, { results: [] });
});

test('audit › a failed first write to a tenant that does not exist creates nothing', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('ghost');
  const reader = await createKey(url, { role: 'reader', databases: ['default'], tenants: [tenant] });
  assertError(t, await api(url, { ...bearer(reader.key), 'X-Tenant-ID': tenant }).post('/tell', { predicate: 'p' }), 403, 'FORBIDDEN');
  const tenants = ((await adminApi(url).get('/admin/databases/default/tenants')).json.tenants as { name: string }[]).map((x) => x.name);
  t.false(tenants.includes(tenant));
});

test('audit › admin actions on a tenant are recorded with actor "admin"', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('adminmade');
  await expectStatus('create tenant', adminApi(url).post('/admin/databases/default/tenants', { name: tenant }), 201);
  const { events } = await auditOf(adminApi(url).with({ 'X-Tenant-ID': tenant }));
  t.deepEqual(events.map((e) => [e.op, e.actor, e.target, e.outcome]), [['tenant_created', 'admin', tenant, 'ok']]);
});

test('audit › limit and since page through the trail', async (t) => {
  const { url } = t.context.server;
  const { asWriter } = await tenantWithKeys(url, 'paged');
  for (let i = 0; i < 7; i++) await expectStatus('tell', asWriter.post('/tell', { predicate: 'n', args: [i] }), 200);
  const all = (await auditOf(asWriter, '?limit=1000')).events;
  t.is(all.length, 7);
  const paged: AuditEvent[] = [];
  let since = 0;
  for (let page = 0; page < 10; page++) {
    const { events, next } = await auditOf(asWriter, `?limit=3&since=${since}`);
    t.true(events.length <= 3, 'a page holds at most limit events');
    if (events.length === 0) {
      t.is(next, since, 'an empty page keeps the position');
      break;
    }
    t.true(events.every((e) => e.seq > since), 'since is exclusive');
    paged.push(...events);
    since = next;
  }
  t.deepEqual(paged, all, 'the pages, joined, are the whole trail');
  t.deepEqual((await auditOf(asWriter, `?since=${all[4]?.seq}`)).events, all.slice(5));
  t.is((await auditOf(asWriter)).events.length, 7, 'the default limit covers a short trail');
  for (const bad of ['?limit=0', '?limit=10001', '?limit=abc', '?since=-1', '?since=x']) {
    assertError(t, await asWriter.get(`/audit${bad}`), 400, 'VALIDATION_ERROR');
  }
});

test('audit › a reader gets 403; a writer of another tenant sees only its own tenant', async (t) => {
  const { url } = t.context.server;
  const one = await tenantWithKeys(url, 'one');
  const two = await tenantWithKeys(url, 'two');
  await expectStatus('tell one', one.asWriter.post('/tell', { predicate: 'secret', args: ['one-only'] }), 200);
  await expectStatus('tell two', two.asWriter.post('/tell', { predicate: 'public', args: ['two'] }), 200);
  assertError(t, await one.asReader.get('/audit'), 403, 'FORBIDDEN');
  assertError(t, await two.asWriter.get('/audit', { 'X-Tenant-ID': one.tenant }), 403, 'FORBIDDEN');
  assertError(t, await api(url, bearer(two.writer.key)).get(`/~${one.tenant}/audit`), 403, 'FORBIDDEN');
  const own = await auditOf(two.asWriter);
  t.deepEqual(own.events.map((e) => [e.op, e.actor, e.target]), [['told', two.writer.id, 'public']]);
  t.false(own.text.includes('one-only'), "nothing of the other tenant's writes");
  t.false(own.text.includes(one.writer.id));
  // A refused write goes to neither trail (issue 12 item 4): the security log and metrics count it.
  assertError(t, await two.asWriter.post('/tell', { predicate: 'intrusion', args: [1] }, { 'X-Tenant-ID': one.tenant }), 403, 'FORBIDDEN');
  const ofOne = await auditOf(one.asAdmin);
  t.false(ofOne.events.some((e) => e.actor === two.writer.id), JSON.stringify(ofOne.events));
  t.deepEqual((await auditOf(two.asWriter)).events.length, 1, "the writer's own trail is unchanged");
});
