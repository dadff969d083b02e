import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type Api, type TestServer, makeDataDir, startTestServer, tenantApi } from '../helpers/server.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { rm } from 'node:fs/promises';

/**
 * Transactions over real HTTP: buffered writes read back inside the transaction only, an atomic
 * commit, a rollback, a read-write conflict (409 naming the fact, nothing applied), expiry under
 * a moved clock, the per-tenant cap, and another tenant's id answered 404 like an unknown one.
 */

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_MAX_OPEN_TRANSACTIONS: '3' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const tx = (id: string) => ({ 'X-Transaction-ID': id });
const argsOf = (reply: { json: any }) => (reply.json.results ?? []).map((r: any) => r.args);

async function begin(client: Api): Promise<string> {
  const reply = await client.post('/tx/begin', {});
  if (reply.status !== 201) throw new Error(`begin: ${reply.status} ${reply.text}`);
  return reply.json.transactionId as string;
}

test('transactions › commit › buffered writes are visible only inside until the commit, then all at once', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_commit');
  t.is((await client.post('/tell', { predicate: 'plan', args: ['acme', 'free'] })).status, 200);
  const id = await begin(client);
  t.regex(id, /^tx_[A-Za-z0-9_-]{32}$/);
  const told = await client.post('/tell', { facts: [{ predicate: 'plan', args: ['globex', 'pro'] }, { predicate: 'seats', args: ['globex', 40] }] }, tx(id));
  t.is(told.status, 200);
  t.is(told.json.told, 2);
  t.is(told.json.facts[0].version, 1);
  t.deepEqual((await client.post('/retract', { predicate: 'plan', args: ['acme', '?'] }, tx(id))).json, { retracted: 1 });
  // Inside: the transaction's writes over the snapshot; outside: nothing changed yet.
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'plan', args: ['?c', '?t'] }, tx(id))), [['globex', 'pro']]);
  t.deepEqual((await client.get('/facts?predicate=seats', tx(id))).json.facts.map((f: any) => f.args), [['globex', 40]]);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'plan', args: ['?c', '?t'] })), [['acme', 'free']]);
  const committed = await client.post(`/tx/${id}/commit`, {});
  t.is(committed.status, 200, committed.text);
  t.deepEqual(committed.json, { transactionId: id, committed: true, applied: 3 });
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'plan', args: ['?c', '?t'] })), [['globex', 'pro']]);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'seats', args: ['?c', '?n'] })), [['globex', 40]]);
  // Over: its id is unknown now.
  assertError(t, await client.post(`/tx/${id}/commit`, {}), 404, 'TRANSACTION_NOT_FOUND');
  assertError(t, await client.post('/tell', { predicate: 'x', args: [] }, tx(id)), 404, 'TRANSACTION_NOT_FOUND');
});

test('transactions › a fact told then retracted in one transaction, and NOT p retracted then p told › commit to what the transaction read', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_order');
  t.is((await client.post('/tell', { predicate: 'vip', args: ['cy'], negated: true })).status, 200);
  const id = await begin(client);
  t.is((await client.post('/tell', { predicate: 'temp', args: [1] }, tx(id))).status, 200);
  t.deepEqual((await client.post('/retract', { predicate: 'temp', args: [1] }, tx(id))).json, { retracted: 1 });
  t.deepEqual((await client.post('/retract', { predicate: 'vip', args: ['cy'], negated: true }, tx(id))).json, { retracted: 1 });
  const vip = await client.post('/tell', { predicate: 'vip', args: ['cy'] }, tx(id));
  t.is(vip.status, 200, vip.text);
  t.is((await client.post(`/tx/${id}/commit`, {})).status, 200);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'temp', args: ['?'] })), []);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'vip', args: ['?'] })), [['cy']]);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'vip', args: ['?'], negated: true })), []);
});

test('transactions › a contradiction inside the transaction › is refused at once (409 CONFLICT), the transaction goes on', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_contra');
  const id = await begin(client);
  t.is((await client.post('/tell', { predicate: 'ok', args: [1] }, tx(id))).status, 200);
  assertError(t, await client.post('/tell', { predicate: 'ok', args: [1], negated: true }, tx(id)), 409, 'CONFLICT');
  t.deepEqual((await client.post(`/tx/${id}/commit`, {})).json.applied, 1);
});

test('transactions › rollback › nothing of it is applied', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_rollback');
  const id = await begin(client);
  t.is((await client.post('/tell', { predicate: 'draft', args: ['a'] }, tx(id))).status, 200);
  t.is((await client.post('/scope/fork', { source: 'main', target: 'side' }, tx(id))).status, 201);
  t.deepEqual((await client.post(`/tx/${id}/rollback`, {})).json, { transactionId: id, rolledBack: true });
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'draft', args: ['?'] })), []);
  t.deepEqual((await client.get('/scopes')).json.scopes, ['main']);
  assertError(t, await client.post(`/tx/${id}/rollback`, {}), 404, 'TRANSACTION_NOT_FOUND');
});

test('transactions › read-write conflict › a fact read inside changed outside: 409 TRANSACTION_CONFLICT naming it, nothing applied', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_conflict');
  t.is((await client.post('/tell', { predicate: 'balance', args: ['ann', 100] })).status, 200);
  const id = await begin(client);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'balance', args: ['ann', '?b'] }, tx(id))), [['ann', 100]]);
  t.is((await client.post('/tell', { predicate: 'spent', args: ['ann', 30] }, tx(id))).status, 200);
  // Someone else changes what the transaction read, between its read and its commit.
  t.is((await client.post('/retract', { predicate: 'balance', args: ['ann', 100] })).status, 200);
  t.is((await client.post('/tell', { predicate: 'balance', args: ['ann', 10] })).status, 200);
  const refused = await client.post(`/tx/${id}/commit`, {});
  assertError(t, refused, 409, 'TRANSACTION_CONFLICT');
  const conflicts = refused.json.details.conflicts.map((c: any) => [c.predicate, c.args]);
  t.deepEqual(conflicts.sort(), [['balance', ['ann', 10]], ['balance', ['ann', 100]]]);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'spent', args: ['?', '?'] })), []);
  // A transaction whose reads did not change commits.
  const again = await begin(client);
  t.is((await client.post('/ask', { predicate: 'balance', args: ['ann', '?b'] }, tx(again))).status, 200);
  t.is((await client.post('/tell', { predicate: 'spent', args: ['ann', 5] }, tx(again))).status, 200);
  t.is((await client.post('/tell', { predicate: 'unrelated', args: [1] })).status, 200);
  t.is((await client.post(`/tx/${again}/commit`, {})).status, 200);
});

test("transactions › another tenant's id › is 404 like an unknown one; so is another database's", async (t) => {
  const mine = tenantApi(t.context.server.url, 'tx_owner');
  const other = tenantApi(t.context.server.url, 'tx_other');
  const id = await begin(mine);
  const unknown = await other.post('/tx/tx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/commit', {});
  const foreign = await other.post(`/tx/${id}/commit`, {});
  assertError(t, foreign, 404, 'TRANSACTION_NOT_FOUND');
  assertError(t, unknown, 404, 'TRANSACTION_NOT_FOUND');
  t.is(foreign.json.message.replace(id, 'ID'), unknown.json.message.replace('tx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'ID'));
  assertError(t, await other.post('/tell', { predicate: 'x', args: [] }, tx(id)), 404, 'TRANSACTION_NOT_FOUND');
  assertError(t, await tenantApi(t.context.server.url, 'tx_owner', 'elsewhere').post(`/tx/${id}/rollback`, {}), 404, 'TRANSACTION_NOT_FOUND');
  // Still open for its owner.
  t.is((await mine.post(`/tx/${id}/rollback`, {})).status, 200);
});

test('transactions › per-tenant cap › 429 TOO_MANY_TRANSACTIONS beyond maxOpenTransactions; another tenant is not affected', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_cap');
  const ids = [await begin(client), await begin(client), await begin(client)];
  assertError(t, await client.post('/tx/begin', {}), 429, 'TOO_MANY_TRANSACTIONS');
  t.is((await tenantApi(t.context.server.url, 'tx_cap_other').post('/tx/begin', {})).status, 201);
  t.is((await client.post(`/tx/${ids[0]}/rollback`, {})).status, 200);
  t.is((await client.post('/tx/begin', {})).status, 201);
});

test('transactions › a header on an operation that takes no part in transactions › 400', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_header');
  const id = await begin(client);
  assertError(t, await client.post('/teach', { head: { predicate: 'a', args: ['?x'] }, body: [{ predicate: 'b', args: ['?x'] }] }, tx(id)), 400, 'VALIDATION_ERROR');
});

test('transactions › fork and merge in a transaction › applied at commit, in order', async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_scopes');
  t.is((await client.post('/scope/fork', { source: 'main', target: 'idea' })).status, 201);
  t.is((await client.post('/tell', { predicate: 'feature', args: ['dark-mode'], scope: 'idea' })).status, 200);
  const id = await begin(client);
  const merged = await client.post('/scope/merge', { source: 'idea', target: 'main', strategy: 'SOURCE_WINS' }, tx(id));
  t.is(merged.status, 200, merged.text);
  t.is(merged.json.merged, 1);
  t.is((await client.post('/scope/fork', { source: 'main', target: 'after' }, tx(id))).status, 201);
  assertError(t, await client.post('/scope/fork', { source: 'main', target: 'after' }, tx(id)), 409, 'CONFLICT');
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'feature', args: ['?'], scope: 'main' })), []);
  t.is((await client.post(`/tx/${id}/commit`, {})).status, 200);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'feature', args: ['?'], scope: 'main' })), [['dark-mode']]);
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'feature', args: ['?'], scope: 'after' })), [['dark-mode']]);
});

test('transactions › idle past transactionIdleSeconds (an injected clock) › rolled back: its id is 404', async (t) => {
  let now = Date.now();
  const dataDir = await makeDataDir();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent', VESPER_TRANSACTION_IDLE_SECONDS: '60' });
  const server = await startServer(config, undefined, { clock: () => now });
  try {
    const client = tenantApi(server.url, 'tx_idle');
    const kept = await begin(client);
    const idle = await begin(client);
    t.is((await client.post('/tell', { predicate: 'pending', args: [1] }, tx(idle))).status, 200);
    now += 45_000;
    t.is((await client.post('/ask', { predicate: 'pending', args: ['?'] }, tx(kept))).status, 200);
    now += 45_000; // idle: 90 s; kept: used 45 s ago
    assertError(t, await client.post(`/tx/${idle}/commit`, {}), 404, 'TRANSACTION_NOT_FOUND');
    t.is((await client.post(`/tx/${kept}/commit`, {})).status, 200);
    t.deepEqual(argsOf(await client.post('/ask', { predicate: 'pending', args: ['?'] })), []);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("transactions › a commit past the tenant's maxFacts › 403 QUOTA_EXCEEDED, nothing applied", async (t) => {
  const client = tenantApi(t.context.server.url, 'tx_quota');
  t.is((await client.post('/tell', { predicate: 'seed', args: [0] })).status, 200);
  const put = await client.request('PUT', '/admin/databases/default/tenants/tx_quota/settings', { maxFacts: 2 });
  t.is(put.status, 200, put.text);
  const id = await begin(client);
  t.is((await client.post('/tell', { facts: [{ predicate: 'n', args: [1] }, { predicate: 'n', args: [2] }] }, tx(id))).status, 200);
  assertError(t, await client.post(`/tx/${id}/commit`, {}), 403, 'QUOTA_EXCEEDED');
  t.deepEqual(argsOf(await client.post('/ask', { predicate: 'n', args: ['?'] })), []);
});
