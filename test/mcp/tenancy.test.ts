import anyTest, { type TestFn } from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { connect, ok } from './client.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server.close();
});

test('tenancy › two clients on two tenants (one per transport) › never see each other\'s facts', async (t) => {
  const { url } = t.context.server;
  const acme = await connect(url, 'streamable', { 'X-Tenant-ID': 'acme' });
  const globex = await connect(url, 'sse', { 'X-Tenant-ID': 'globex' });
  try {
    await ok(acme, 'tell', { predicate: 'customer', args: ['acme-only'] });
    await ok(globex, 'tell', { predicate: 'customer', args: ['globex-only'] });
    const seenByAcme = await ok(acme, 'ask', { predicate: 'customer', args: ['?c'] });
    const seenByGlobex = await ok(globex, 'ask', { predicate: 'customer', args: ['?c'] });
    t.deepEqual(seenByAcme.results.map((r: any) => r.bindings.c), ['acme-only']);
    t.deepEqual(seenByGlobex.results.map((r: any) => r.bindings.c), ['globex-only']);
    t.deepEqual((await ok(acme, 'list_scopes')).details.map((d: any) => d.facts), [1]);
  } finally {
    await acme.close();
    await globex.close();
  }
});

test('tenancy › X-Database selects the database too', async (t) => {
  const { url } = t.context.server;
  const client = await connect(url, 'streamable', { 'X-Database': 'analytics', 'X-Tenant-ID': 'acme' });
  try {
    const told = await ok(client, 'tell', { predicate: 'metric', args: ['dau', 10] });
    t.is(told.facts[0].$context, 'vesper://analytics/~acme');
  } finally {
    await client.close();
  }
  const rest = await tenantApi(url, 'acme', 'analytics').post('/ask', { predicate: 'metric', args: ['?m', '?v'] });
  t.is(rest.json.results.length, 1);
  t.deepEqual((await tenantApi(url, 'acme').post('/ask', { predicate: 'metric', args: ['?m', '?v'] })).json, { results: [] });
});

test('tenancy › no X-Tenant-ID header › the connection acts on tenant "default"', async (t) => {
  const { url } = t.context.server;
  for (const kind of ['streamable', 'sse'] as const) {
    const client = await connect(url, kind);
    try {
      await ok(client, 'tell', { predicate: 'via', args: [kind] });
    } finally {
      await client.close();
    }
  }
  const rest = await tenantApi(url, 'default').post('/ask', { predicate: 'via', args: ['?k'] });
  t.deepEqual(rest.json.results.map((r: any) => r.bindings.k).sort(), ['sse', 'streamable']);
});

test('resources › predicates and rules of the session\'s tenant', async (t) => {
  const { url } = t.context.server;
  const client = await connect(url, 'streamable', { 'X-Tenant-ID': 'vocab' });
  try {
    await ok(client, 'tell', { facts: [{ predicate: 'plan', args: ['a', 'x'] }, { predicate: 'plan', args: ['b', 'y'] }, { predicate: 'seats', args: ['a', 3] }] });
    await ok(client, 'teach', { text: 'big(?c) :- seats(?c, ?n), ?n > 2.' });
    const { resources } = await client.listResources();
    t.deepEqual(resources.map((r) => r.uri).sort(), ['vesper://default/~vocab/predicates', 'vesper://default/~vocab/rules']);
    const predicates = await client.readResource({ uri: 'vesper://default/~vocab/predicates' });
    const first = predicates.contents[0];
    t.is(first?.mimeType, 'application/json');
    t.deepEqual(JSON.parse(String(first && 'text' in first ? first.text : '')), {
      predicates: [
        { predicate: 'plan', arity: 2, facts: 2, negated: 0, scopes: ['main'] },
        { predicate: 'seats', arity: 2, facts: 1, negated: 0, scopes: ['main'] },
      ],
    });
    const rules = await client.readResource({ uri: 'vesper://default/~vocab/rules' });
    const text = rules.contents[0] && 'text' in rules.contents[0] ? rules.contents[0].text : '';
    t.deepEqual(JSON.parse(text).rules.map((r: any) => r.rule), ['big(?c) :- seats(?c, ?n), ?n > 2.']);
  } finally {
    await client.close();
  }
});

test('tenancy › the path form /~tenant/mcp › addresses the tenant like the header, on both transports', async (t) => {
  const { url } = t.context.server;
  const transports = [
    new StreamableHTTPClientTransport(new URL('/db/pathdb/~pathy/mcp', url)),
    new SSEClientTransport(new URL('/db/pathdb/~pathy/mcp/sse', url)),
  ];
  for (const [i, transport] of transports.entries()) {
    const client = new Client({ name: 'path', version: '0.0.0' });
    await client.connect(transport);
    try {
      const told = await ok(client, 'tell', { predicate: 'via', args: [i] });
      t.is(told.facts[0].$context, 'vesper://pathdb/~pathy');
    } finally {
      await client.close();
    }
  }
  const rest = await tenantApi(url, 'pathy', 'pathdb').post('/ask', { predicate: 'via', args: ['?i'] });
  t.is(rest.json.results.length, 2);
});
