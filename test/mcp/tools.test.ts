import anyTest, { type TestFn } from 'ava';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { TRANSPORTS, call, connect, ok } from './client.js';

const test = anyTest as TestFn<{ server: TestServer }>;

const TOOL_NAMES = [
  'tell', 'ask', 'retract', 'teach', 'list_rules', 'fork_scope', 'diff_scopes', 'merge_scopes', 'list_scopes', 'delete_scope',
  'context_optimize', 'context_diff', 'context_clear', 'list_facts', 'list_predicates', 'merge_scope', 'forget', 'search', 'revert_scope', 'history',
  'update_fact', 'ask_batch', 'aggregate', 'tx_begin', 'tx_commit', 'tx_rollback',
];

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server.close();
});

async function withClient<T>(url: string, kind: 'streamable' | 'sse', tenant: string, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url, kind, { 'X-Tenant-ID': tenant });
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

for (const kind of TRANSPORTS) {
  test(`tools/list › over ${kind} › lists every tool with an object input schema and a description`, async (t) => {
    await withClient(t.context.server.url, kind, 'listing', async (client) => {
      const { tools } = await client.listTools();
      t.deepEqual(tools.map((tool) => tool.name).sort(), [...TOOL_NAMES].sort());
      for (const tool of tools) {
        t.is(tool.inputSchema.type, 'object', tool.name);
        t.regex(tool.description ?? '', /Example/, `${tool.name} has an example`);
        t.false(JSON.stringify(tool.inputSchema).includes('"tenant"'), `${tool.name} takes no tenant`);
      }
      const tell = tools.find((tool) => tool.name === 'tell');
      t.truthy(tell?.inputSchema.properties?.predicate);
      t.truthy(tell?.inputSchema.properties?.facts);
    });
  });
}

test('tools › facts › tell, ask, retract and forget answer with the REST shapes', async (t) => {
  await withClient(t.context.server.url, 'streamable', 'facts', async (client) => {
    const told = await ok(client, 'tell', { facts: [{ predicate: 'plan', args: ['acme', 'enterprise'] }, { predicate: 'plan', args: ['globex', 'free'] }] });
    t.is(told.told, 2);
    t.like(told.facts[0], { predicate: 'plan', args: ['acme', 'enterprise'], negated: false, scope: 'main', version: 1, $context: 'vesper://default/~facts' });

    const asked = await ok(client, 'ask', { predicate: 'plan', args: ['acme', '?tier'] });
    t.is(asked.results.length, 1);
    t.deepEqual(asked.results[0].bindings, { tier: 'enterprise' });
    t.deepEqual(await ok(client, 'ask', { predicate: 'nothing', args: [] }), { results: [] });

    t.deepEqual(await ok(client, 'retract', { predicate: 'plan', args: ['acme', '?any'] }), { retracted: 1 });
    t.deepEqual(await ok(client, 'forget', { predicate: 'plan', args: ['globex', 'free'] }), { retracted: 1 });
    t.deepEqual(await ok(client, 'ask', { predicate: 'plan', args: ['?c', '?t'] }), { results: [] });
  });
});

test('tools › rules › teach (text and JSON) and list_rules; ask derives', async (t) => {
  await withClient(t.context.server.url, 'sse', 'rules', async (client) => {
    await ok(client, 'tell', { facts: [{ predicate: 'parent', args: ['ann', 'bob'] }, { predicate: 'parent', args: ['bob', 'cy'] }] });
    const text = await ok(client, 'teach', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).' });
    t.is(text.rules.length, 2);
    const json = await ok(client, 'teach', {
      head: { predicate: 'grandparent', args: ['?x', '?z'] },
      body: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }],
    });
    t.regex(json.id, /^rule_/);
    t.is(json.rule, 'grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).');
    const listed = await ok(client, 'list_rules');
    t.is(listed.rules.length, 3);
    const derived = await ok(client, 'ask', { predicate: 'ancestor', args: ['ann', '?who'] });
    t.deepEqual(derived.results.map((r: any) => r.bindings.who).sort(), ['bob', 'cy']);
    const unsafe = await call(client, 'teach', { text: 'bad(?x, ?y) :- parent(?x, ?z).' });
    t.true(unsafe.isError);
    t.is(unsafe.json.code, 'VALIDATION_ERROR');
  });
});

test('tools › scopes › fork, diff, merge (and merge_scope), list and delete', async (t) => {
  await withClient(t.context.server.url, 'streamable', 'scopes', async (client) => {
    await ok(client, 'tell', { predicate: 'status', args: ['acme', 'trial'] });
    t.deepEqual(await ok(client, 'fork_scope', { source: 'main', target: 'h1' }), { scope: 'h1', base: 'main' });
    await ok(client, 'tell', { predicate: 'status', args: ['acme', 'paid'], scope: 'h1' });
    const diff = await ok(client, 'diff_scopes', { source: 'h1', target: 'main' });
    t.is(diff.onlyInSource.length, 1);
    t.like(diff.onlyInSource[0], { predicate: 'status', args: ['acme', 'paid'], scope: 'h1' });
    t.is(diff.inBoth, 1);
    const merged = await ok(client, 'merge_scopes', { source: 'h1', target: 'main', strategy: 'SOURCE_WINS' });
    t.like(merged, { source: 'h1', target: 'main', result: 'merged', merged: 1, strategy: 'SOURCE_WINS' });
    t.like(await ok(client, 'merge_scope', { sourceScope: 'h1', targetScope: 'main' }), { result: 'up-to-date', merged: 0 });
    const scopes = await ok(client, 'list_scopes');
    t.deepEqual(scopes.scopes.sort(), ['h1', 'main']);
    t.is(scopes.count, 2);
    t.deepEqual(await ok(client, 'delete_scope', { scope: 'h1' }), { deleted: true, scope: 'h1' });
    t.deepEqual((await ok(client, 'list_scopes')).scopes, ['main']);
    const taken = await call(client, 'fork_scope', { source: 'main', target: 'main' });
    t.true(taken.isError);
    t.is(taken.json.code, 'CONFLICT');
  });
});

test('tools › context › optimize, diff and clear a session', async (t) => {
  await withClient(t.context.server.url, 'streamable', 'context', async (client) => {
    await ok(client, 'tell', { facts: [{ predicate: 'plan', args: ['acme', 'enterprise'] }, { predicate: 'seats', args: ['acme', 120] }] });
    const window = await ok(client, 'context_optimize', { sessionId: 'thread-1', maxFacts: 10 });
    t.regex(window.windowId, /^ctx_/);
    t.is(window.entries.length, 2);
    await ok(client, 'tell', { predicate: 'owner', args: ['acme', 'dana'] });
    const diff = await ok(client, 'context_diff', { sessionId: 'thread-1', maxFacts: 10 });
    t.is(diff.previousWindowId, window.windowId);
    t.deepEqual(diff.added.map((e: any) => e.predicate), ['owner']);
    t.is(diff.unchanged, 2);
    t.deepEqual(await ok(client, 'context_clear', { sessionId: 'thread-1' }), { cleared: true, sessionId: 'thread-1' });
    const fresh = await ok(client, 'context_diff', { sessionId: 'thread-1' });
    t.true(fresh.fullRefreshRecommended);
  });
});

test('tools › failures › are isError results carrying the JSON error envelope, never protocol errors', async (t) => {
  await withClient(t.context.server.url, 'sse', 'errors', async (client) => {
    const invalid = await call(client, 'tell', { predicate: '', args: [] });
    t.true(invalid.isError);
    t.deepEqual(Object.keys(invalid.json).sort(), ['code', 'details', 'message', 'type']);
    t.is(invalid.json.code, 'VALIDATION_ERROR');
    t.is(invalid.json.type, 'ValidationException');

    const missing = await call(client, 'diff_scopes', { source: 'nope', target: 'main' });
    t.true(missing.isError);
    t.is(missing.json.code, 'NOT_FOUND');

    await ok(client, 'tell', { predicate: 'likes', args: ['ann', 'tea'] });
    const contradiction = await call(client, 'tell', { predicate: 'likes', args: ['ann', 'tea'], negated: true });
    t.true(contradiction.isError);
    t.is(contradiction.json.code, 'CONFLICT');

    const unknownField = await call(client, 'ask', { predicate: 'likes', args: ['?x', '?y'], bogus: 1 });
    t.is(unknownField.json.code, 'VALIDATION_ERROR');
    await t.throwsAsync(client.callTool({ name: 'no_such_tool', arguments: {} }), { message: /unknown tool/ });
  });
});

test('tools › tenant arguments › are refused: a call cannot name another tenant', async (t) => {
  await withClient(t.context.server.url, 'streamable', 'home', async (client) => {
    await ok(client, 'tell', { predicate: 'secret', args: ['home'] });
    for (const args of [{ predicate: 'secret', args: ['x'], tenant: 'other' }, { predicate: 'secret', args: ['x'], database: 'other' }]) {
      const reply = await call(client, 'tell', args);
      t.true(reply.isError);
      t.is(reply.json.code, 'VALIDATION_ERROR');
      t.regex(reply.json.message, /X-Tenant-ID/);
    }
  });
  await withClient(t.context.server.url, 'streamable', 'other', async (client) => {
    t.deepEqual(await ok(client, 'ask', { predicate: 'secret', args: ['?x'] }), { results: [] });
  });
});

test('tools › search and context_optimize with a query › find a fact by a word of its metadata, with why', async (t) => {
  await withClient(t.context.server.url, 'streamable', 'retrieval', async (client) => {
    await ok(client, 'tell', { facts: [{ predicate: 'incident', args: ['inc-7', 'billing_outage'], metadata: { summary: 'Invoices failed' } }, { predicate: 'plan', args: ['acme', 'free'] }] });
    const found = await ok(client, 'search', { query: 'invoice', limit: 5 });
    t.deepEqual(found.results.map((r: { args: unknown[] }) => r.args), [['inc-7', 'billing_outage']]);
    t.deepEqual(found.results[0].why.matched, ['invoic']);
    const window = await ok(client, 'context_optimize', { maxFacts: 1, query: 'billing outage' });
    t.deepEqual(window.entries[0].args, ['inc-7', 'billing_outage']);
    t.is(window.entries[0].why.text, 1);
  });
});
