// Embedding values are stored as Float32: a JSON number beyond its range (|v| > 3.4e38) is finite in
// the request but would be stored as Infinity. Found from outside: such a fact got salience null
// (NaN) in a window, and its export carried `null`, which the import then refused.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function embeddingTenant(url: string) {
  const db = uniqueName('embr');
  await api(url).post('/databases', { name: db });
  const put = await api(url).request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 3 });
  if (put.status !== 200) throw new Error(`settings: ${put.status} ${put.text}`);
  const tenant = uniqueName('embr');
  return { c: tenantApi(url, tenant, db), db, tenant };
}

test('embeddings › a value beyond the Float32 range › 400 on a fact, on queryEmbedding of search, optimize and diff; nothing stored', async (t) => {
  const { c } = await embeddingTenant(t.context.server.url);
  const told = await c.post('/tell', { facts: [{ predicate: 'doc', args: ['ok'], embedding: [1, 0, 0] }, { predicate: 'doc', args: ['huge'], embedding: [1e39, 0, 0] }] });
  assertError(t, told, 400, 'VALIDATION_ERROR');
  t.deepEqual((await c.post('/ask', { predicate: 'doc', args: ['?x'] })).json.results, [], 'the batch is all-or-nothing');
  assertError(t, await c.post('/tell', { predicate: 'doc', args: ['neg'], embedding: [0, -1e39, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { queryEmbedding: [1e308, 1e308, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { queryEmbedding: [1e39, 0, 0] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/diff', { sessionId: 's', queryEmbedding: [1e39, 0, 0] }), 400, 'VALIDATION_ERROR');
  // The largest Float32 and values that round to zero are fine.
  await tellOk(c, { facts: [{ predicate: 'doc', args: ['max'], embedding: [3.4e38, 0, 0] }, { predicate: 'doc', args: ['tiny'], embedding: [1e-50, 1, 0] }] });
  const window = await c.post('/context/optimize', { queryEmbedding: [1, 0, 0] });
  t.is(window.status, 200, window.text);
  for (const entry of window.json.entries) t.is(typeof entry.salience, 'number', `salience of ${JSON.stringify(entry.args)}`);
});

test('embeddings › export → import › every stored vector travels (no null values), the copy answers alike', async (t) => {
  const { url } = t.context.server;
  const { c, db, tenant } = await embeddingTenant(url);
  await tellOk(c, { facts: [{ predicate: 'doc', args: ['max'], embedding: [3.4e38, 1, 0] }, { predicate: 'doc', args: ['b'], embedding: [0, 1, 0] }] });
  const exported = await api(url).get(`/admin/databases/${db}/tenants/${tenant}/export`);
  t.is(exported.status, 200);
  const vectors = exported.text.trim().split('\n').map((line) => JSON.parse(line)).filter((line) => line.kind === 'entry').map((line) => line.embedding);
  t.is(vectors.length, 2);
  for (const v of vectors) t.true(Array.isArray(v) && v.every((x: unknown) => typeof x === 'number'), `exported as ${JSON.stringify(v)}`);
  const copy = uniqueName('embr');
  const imported = await api(url).post(`/admin/databases/${db}/tenants/${copy}/import`, exported.text, { 'content-type': 'application/x-ndjson' });
  t.is(imported.status, 201, imported.text);
  const search = async (tn: string) => (await tenantApi(url, tn, db).post('/search', { queryEmbedding: [1, 0, 0] })).json.results.map((r: { args: unknown[]; score: number }) => [r.args, r.score]);
  t.deepEqual(await search(copy), await search(tenant));
});

test('import › an embedding value beyond the Float32 range › the line is refused, nothing imported', async (t) => {
  const { url } = t.context.server;
  const { db } = await embeddingTenant(url);
  const lines = [
    { kind: 'header', format: 'vesper-export', version: 3, database: db, tenant: 'x', exportedAt: 0 },
    { kind: 'layer', id: 0, facts: 1 },
    { kind: 'scope', name: 'main', base: null, createdAt: 0, chain: [0] },
    { kind: 'entry', layer: 0, predicate: 'doc', args: ['huge'], negated: false, record: { version: 1, createdAt: 1, updatedAt: 1, confidence: 1, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata: null }, embedding: [1e39, 0, 0] },
    { kind: 'end', layers: 1, scopes: 1, rules: 0, facts: 1, retractions: 0, versions: 0, sessions: 0, accessCounts: 0, bytes: 0 },
  ];
  const reply = await api(url).post(`/admin/databases/${db}/tenants/${uniqueName('embr')}/import`, lines.map((l) => JSON.stringify(l)).join('\n'), { 'content-type': 'application/x-ndjson' });
  assertError(t, reply, 400, 'VALIDATION_ERROR');
  t.is(reply.json.details?.line, 4, reply.text);
});
