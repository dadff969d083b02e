import anyTest, { type TestFn } from 'ava';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Api, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { connect, ok } from './client.js';

/** Tool results have the shape of the REST replies: the same reads on the same tenant give the same JSON. */
const test = anyTest as TestFn<{ server: TestServer; rest: Api; client: Client }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
  t.context.rest = tenantApi(t.context.server.url, 'parity');
  t.context.client = await connect(t.context.server.url, 'streamable', { 'X-Tenant-ID': 'parity' });
  const { rest } = t.context;
  await rest.post('/tell', { facts: [{ predicate: 'parent', args: ['ann', 'bob'] }, { predicate: 'parent', args: ['bob', 'cy'], confidence: 0.5 }] });
  await rest.post('/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).' });
  await rest.post('/scope/fork', { source: 'main', target: 'h1' });
  await rest.post('/tell', { predicate: 'parent', args: ['cy', 'dee'], scope: 'h1' });
  await rest.post('/retract', { predicate: 'parent', args: ['ann', 'bob'], scope: 'h1' });
});
test.after.always(async (t) => {
  await t.context.client?.close();
  await t.context.server.close();
});

const READS: [string, string, string, unknown][] = [
  ['ask (one pattern)', 'ask', '/ask', { predicate: 'parent', args: ['?x', '?y'] }],
  ['ask (derived, with proof)', 'ask', '/ask', { predicate: 'ancestor', args: ['ann', '?who'], withProof: true }],
  ['ask (conjunctive)', 'ask', '/ask', { query: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }] }],
  ['ask (paged)', 'ask', '/ask', { predicate: 'parent', args: ['?x', '?y'], limit: 1 }],
  ['diff_scopes', 'diff_scopes', '/scope/diff', { source: 'h1', target: 'main' }],
];

for (const [title, tool, path, args] of READS) {
  test(`parity › ${title} › the tool result equals the REST reply`, async (t) => {
    const rest = await t.context.rest.post(path, args);
    t.is(rest.status, 200);
    t.deepEqual(await ok(t.context.client, tool, args as Record<string, unknown>), rest.json);
  });
}

test('parity › list_scopes and list_rules › equal GET /scopes and GET /rules', async (t) => {
  t.deepEqual(await ok(t.context.client, 'list_scopes'), (await t.context.rest.get('/scopes')).json);
  t.deepEqual(await ok(t.context.client, 'list_rules'), (await t.context.rest.get('/rules')).json);
});

test('parity › a REJECTed merge › is the same envelope as the REST 409', async (t) => {
  const rest = tenantApi(t.context.server.url, 'parity-merge');
  const client = await connect(t.context.server.url, 'sse', { 'X-Tenant-ID': 'parity-merge' });
  try {
    await rest.post('/tell', { predicate: 'tier', args: ['acme'], confidence: 0.5 });
    await rest.post('/scope/fork', { source: 'main', target: 'h2' });
    await rest.post('/tell', { predicate: 'tier', args: ['acme'], confidence: 0.9, scope: 'h2' });
    await rest.post('/tell', { predicate: 'tier', args: ['acme'], confidence: 0.7 });
    const viaRest = await rest.post('/scope/merge', { source: 'h2', target: 'main', strategy: 'REJECT' });
    t.is(viaRest.status, 409);
    const result = (await client.callTool({ name: 'merge_scopes', arguments: { source: 'h2', target: 'main', strategy: 'REJECT' } })) as any;
    t.true(result.isError);
    t.deepEqual(JSON.parse(result.content[0].text), viaRest.json);
  } finally {
    await client.close();
  }
});
