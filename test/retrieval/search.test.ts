// POST /search over real HTTP: BM25 over predicate words, string args and string metadata values,
// kept exact through upserts, retracts, forks, merges and a restart.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('srch'));
type Hit = { predicate: string; args: unknown[]; scope: string; score: number; why: { text: number | null; matched: string[] } };
const labels = (hits: Hit[]) => hits.map((h) => `${h.predicate}(${h.args.join(', ')})`);

async function search(c: Api, body: Record<string, unknown>): Promise<Hit[]> {
  const reply = await c.post('/search', body);
  if (reply.status !== 200) throw new Error(`search: ${reply.status} ${reply.text}`);
  return reply.json.results;
}

const SEED = [
  { predicate: 'incident', args: ['inc-7', 'billing_outage'], metadata: { summary: 'Invoices failed to send for EU customers' } },
  { predicate: 'incident', args: ['inc-8', 'login-latency'], metadata: { summary: 'Slow sign-in after deploy' } },
  { predicate: 'ticket', args: ['user-42', 'refund requested'] },
  { predicate: 'customerPlan', args: ['acme', 'enterprise'] },
];

test('POST /search › a word of an arg, of metadata, of a camelCase predicate › finds the fact, best first, with why', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: SEED });
  const outage = await search(c, { query: 'What do we know about the billing outages?' });
  t.deepEqual(labels(outage), ['incident(inc-7, billing_outage)']);
  t.deepEqual(outage[0]?.why.matched, ['bill', 'outag']);
  t.is(outage[0]?.why.text, 1);
  t.is(outage[0]?.score, 1);
  t.deepEqual(labels(await search(c, { query: 'invoices' })), ['incident(inc-7, billing_outage)'], 'a metadata word');
  t.deepEqual(labels(await search(c, { query: 'user 42' })), ['ticket(user-42, refund requested)'], 'user-42 is split');
  t.deepEqual(labels(await search(c, { query: 'customer plans' })), ['customerPlan(acme, enterprise)', 'incident(inc-7, billing_outage)'], 'camelCase predicate first (two words), then "customers" of a summary');
  t.deepEqual(await search(c, { query: 'kubernetes' }), []);
  const two = await search(c, { query: 'incident latency' });
  t.deepEqual(labels(two), ['incident(inc-8, login-latency)', 'incident(inc-7, billing_outage)'], 'two words beat one');
  t.true((two[0]?.score ?? 0) > (two[1]?.score ?? 0));
});

test('POST /search › upsert and retract › new metadata words replace old ones; a retracted fact is never returned', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: SEED });
  await tellOk(c, { predicate: 'incident', args: ['inc-8', 'login-latency'], metadata: { summary: 'resolved by rollback' } });
  t.deepEqual(await search(c, { query: 'deploy' }), [], 'the old metadata word is gone');
  t.deepEqual(labels(await search(c, { query: 'rollback' })), ['incident(inc-8, login-latency)']);
  t.is((await c.post('/retract', { predicate: 'incident', args: ['inc-7', '?'] })).json.retracted, 1);
  t.deepEqual(await search(c, { query: 'billing outage' }), []);
  t.deepEqual(await search(c, { query: 'invoices' }), []);
});

test('POST /search › a fact told in a fork › found in the fork, not in main until merged', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: SEED });
  t.is((await c.post('/scope/fork', { source: 'main', target: 'hyp' })).status, 201);
  await tellOk(c, { predicate: 'incident', args: ['inc-9', 'payment gateway timeout'], scope: 'hyp' });
  await c.post('/retract', { predicate: 'ticket', args: ['user-42', '?'], scope: 'hyp' });
  t.deepEqual(labels(await search(c, { query: 'gateway', scope: 'hyp' })), ['incident(inc-9, payment gateway timeout)']);
  t.deepEqual(await search(c, { query: 'gateway', scope: 'main' }), []);
  t.deepEqual(labels(await search(c, { query: 'refund', scope: 'main' })), ['ticket(user-42, refund requested)']);
  t.deepEqual(await search(c, { query: 'refund', scope: 'hyp' }), [], 'retracted in the fork only');
  t.deepEqual(labels(await search(c, { query: 'billing', scope: 'hyp' })), ['incident(inc-7, billing_outage)'], 'the fork sees main up to the fork');
  t.is((await c.post('/scope/merge', { source: 'hyp', target: 'main', strategy: 'SOURCE_WINS' })).status, 200);
  t.deepEqual(labels(await search(c, { query: 'gateway', scope: 'main' })), ['incident(inc-9, payment gateway timeout)']);
  t.deepEqual(await search(c, { query: 'refund', scope: 'main' }), [], 'the retraction merged too');
});

test('POST /search › bad input › 400 with the envelope', async (t) => {
  const c = client(t);
  assertError(t, await c.post('/search', {}), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { query: 'x', limit: 0 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { query: 3 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { queryEmbedding: [] }), 400, 'VALIDATION_ERROR');
  t.deepEqual((await c.post('/search', { query: 'anything' })).json, { results: [] }, 'a tenant never written');
});

test('POST /search › after a restart › the index is read from disk', async (t) => {
  const first = await startTestServer();
  const tenant = uniqueName('restart');
  try {
    await tellOk(tenantApi(first.url, tenant), { facts: SEED });
  } finally {
    await first.close({ keepData: true });
  }
  const second = await startTestServer({}, { dataDir: first.dataDir });
  try {
    t.deepEqual(labels(await search(tenantApi(second.url, tenant), { query: 'billing outage' })), ['incident(inc-7, billing_outage)']);
  } finally {
    await second.close();
  }
});

test('POST /search › a format-1 database written before the retrieval indexes › is indexed on first use, forks included', async (t) => {
  const { cp, mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-format1-search-'));
  await cp(new URL('../fixtures/format-1', import.meta.url), dataDir, { recursive: true, filter: (source) => !source.endsWith('README.md') });
  const server = await startTestServer({}, { dataDir });
  try {
    const acme = tenantApi(server.url, 'acme');
    t.deepEqual(labels(await search(acme, { query: 'enterprise', scope: 'main' })).filter((l) => l.startsWith('plan')), ['plan(acme, enterprise)']);
    const seats = await search(acme, { query: 'seats', scope: 'hypothesis' });
    t.deepEqual(seats.map((h) => h.args[1]).sort(), [120, 150], 'the fork sees its own fact and main\'s');
    t.deepEqual((await search(acme, { query: 'crm', scope: 'main' })).map((h) => h.predicate), ['seats'], 'a metadata value');
  } finally {
    await server.close({ keepData: true });
    await rm(dataDir, { recursive: true, force: true });
  }
});
