import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import anyTest, { type TestFn } from 'ava';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { call, connect, ok } from './client.js';

/** Transactions through a real MCP client: tx_begin, tools with transactionId, tx_commit / tx_rollback; a REST client shares them. */

const test = anyTest as TestFn<{ server: TestServer; client: Client; other: Client }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
  t.context.client = await connect(t.context.server.url, 'streamable', { 'X-Tenant-ID': 'mcp_tx' });
  t.context.other = await connect(t.context.server.url, 'streamable', { 'X-Tenant-ID': 'mcp_tx_other' });
});
test.after.always(async (t) => {
  await t.context.client?.close();
  await t.context.other?.close();
  await t.context.server?.close();
});

const argsOf = (reply: any) => (reply.results ?? []).map((r: any) => r.args);

test.serial('mcp › transactions › writes with transactionId are buffered, read back inside only, applied by tx_commit', async (t) => {
  const { client } = t.context;
  const { transactionId } = await ok(client, 'tx_begin');
  t.like(await ok(client, 'tell', { predicate: 'todo', args: ['write tests'], transactionId }), { told: 1 });
  t.like(await ok(client, 'tell', { predicate: 'scratch', args: [1], transactionId }), { told: 1 });
  t.deepEqual(argsOf(await ok(client, 'ask', { predicate: 'todo', args: ['?'], transactionId })), [['write tests']]);
  t.deepEqual(argsOf(await ok(client, 'ask', { predicate: 'todo', args: ['?'] })), []);
  // The same transaction over REST (the same tenant, the same open key: development mode).
  const rest = tenantApi(t.context.server.url, 'mcp_tx');
  t.deepEqual((await rest.get('/facts?predicate=todo', { 'X-Transaction-ID': transactionId })).json.facts.map((f: any) => f.args), [['write tests']]);
  const committed = await ok(client, 'tx_commit', { id: transactionId });
  t.like(committed, { transactionId, committed: true, applied: 2 });
  t.deepEqual(argsOf(await ok(client, 'ask', { predicate: 'todo', args: ['?'] })), [['write tests']]);
  const gone = await call(client, 'tx_commit', { id: transactionId });
  t.true(gone.isError);
  t.is(gone.json.code, 'TRANSACTION_NOT_FOUND');
});

test.serial("mcp › transactions › tx_rollback drops the writes; another tenant's session cannot use the id", async (t) => {
  const { client, other } = t.context;
  const { transactionId } = await ok(client, 'tx_begin');
  await ok(client, 'retract', { predicate: 'todo', args: ['?'], transactionId });
  const foreign = await call(other, 'ask', { predicate: 'todo', args: ['?'], transactionId });
  t.true(foreign.isError);
  t.is(foreign.json.code, 'TRANSACTION_NOT_FOUND');
  t.like(await ok(client, 'tx_rollback', { id: transactionId }), { rolledBack: true });
  t.deepEqual(argsOf(await ok(client, 'ask', { predicate: 'todo', args: ['?'] })), [['write tests']]);
  const refused = await call(client, 'teach', { text: 'a(?x) :- b(?x).', transactionId });
  t.true(refused.isError, 'a tool that takes no part in transactions has no transactionId argument');
});
