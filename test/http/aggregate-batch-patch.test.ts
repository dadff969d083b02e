import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

/** POST /aggregate, POST /ask/batch and PATCH /tell over real HTTP. */

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const SALARIES = [
  { predicate: 'salary', args: ['ann', 'eng', 100] },
  { predicate: 'salary', args: ['bob', 'eng', 80] },
  { predicate: 'salary', args: ['cy', 'ops', 60] },
  { predicate: 'salary', args: ['dee', 'ops', 'unknown'] },
  { predicate: 'salary', args: ['eve', 'ops', '70'] },
];

test('aggregate › mixed values › non-numbers are skipped and counted, never read as 0', async (t) => {
  const client = tenantApi(t.context.server.url, 'agg_mixed');
  t.is((await client.post('/tell', { facts: SALARIES })).status, 200);
  const pattern = { predicate: 'salary', args: ['?p', '?dept', '?amount'], argIndex: 2 };
  const sum = await client.post('/aggregate', { ...pattern, operation: 'SUM' });
  t.is(sum.status, 200, sum.text);
  t.deepEqual(sum.json, { operation: 'SUM', result: 240, matchedFacts: 5, skipped: 2 });
  t.deepEqual((await client.post('/aggregate', { ...pattern, operation: 'AVG' })).json, { operation: 'AVG', result: 80, matchedFacts: 5, skipped: 2 });
  t.deepEqual((await client.post('/aggregate', { ...pattern, operation: 'MIN' })).json.result, 60);
  t.deepEqual((await client.post('/aggregate', { ...pattern, operation: 'MAX' })).json.result, 100);
  // 70 and "70" are different terms.
  t.deepEqual((await client.post('/aggregate', { ...pattern, operation: 'COUNT_DISTINCT' })).json, { operation: 'COUNT_DISTINCT', result: 5, matchedFacts: 5, skipped: 0 });
  t.deepEqual((await client.post('/aggregate', { predicate: 'salary', args: ['?', 'ops', '?'], operation: 'COUNT' })).json, { operation: 'COUNT', result: 3, matchedFacts: 3, skipped: 0 });
  const grouped = await client.post('/aggregate', { ...pattern, operation: 'AVG', groupBy: ['dept'] });
  t.deepEqual(grouped.json.groups, [
    { key: { dept: 'eng' }, result: 90 },
    { key: { dept: 'ops' }, result: 60 },
  ]);
});

test('aggregate › nothing matched › COUNT is 0, SUM 0, MIN/MAX/AVG null; only non-numbers › null with all skipped', async (t) => {
  const client = tenantApi(t.context.server.url, 'agg_empty');
  t.is((await client.post('/tell', { predicate: 'tag', args: ['a', 'red'] })).status, 200);
  const none = { predicate: 'salary', args: ['?p', '?d', '?a'], argIndex: 2 };
  t.deepEqual((await client.post('/aggregate', { ...none, operation: 'COUNT' })).json, { operation: 'COUNT', result: 0, matchedFacts: 0, skipped: 0 });
  t.deepEqual((await client.post('/aggregate', { ...none, operation: 'SUM' })).json.result, 0);
  for (const operation of ['MIN', 'MAX', 'AVG']) t.is((await client.post('/aggregate', { ...none, operation })).json.result, null, operation);
  t.deepEqual((await client.post('/aggregate', { predicate: 'tag', args: ['?x', '?c'], argIndex: 1, operation: 'AVG' })).json, { operation: 'AVG', result: null, matchedFacts: 1, skipped: 1 });
  // A tenant that never wrote.
  t.deepEqual((await tenantApi(t.context.server.url, 'agg_nobody').post('/aggregate', { predicate: 'x', operation: 'COUNT' })).json, { operation: 'COUNT', result: 0, matchedFacts: 0, skipped: 0 });
});

test('aggregate › a pattern with no args › matches facts of arity 0 only', async (t) => {
  const client = tenantApi(t.context.server.url, 'agg_arity');
  t.is((await client.post('/tell', { facts: [{ predicate: 'ready', args: [] }, { predicate: 'ready', args: ['x'] }, { predicate: 'ready', args: ['y', 1] }] })).status, 200);
  t.deepEqual((await client.post('/aggregate', { predicate: 'ready', args: [], operation: 'COUNT' })).json, { operation: 'COUNT', result: 1, matchedFacts: 1, skipped: 0 });
  t.deepEqual((await client.post('/aggregate', { predicate: 'ready', operation: 'COUNT' })).json.result, 1);
});

test('aggregate › groupBy over a rule and a conjunctive query › derived facts count', async (t) => {
  const client = tenantApi(t.context.server.url, 'agg_rule');
  t.is((await client.post('/tell', { facts: [...SALARIES, { predicate: 'senior', args: ['ann'] }, { predicate: 'senior', args: ['cy'] }, { predicate: 'senior', args: ['eve'] }] })).status, 200);
  t.is((await client.post('/rules', { text: 'senior_pay(?p, ?d, ?a) :- senior(?p), salary(?p, ?d, ?a).' })).status, 201);
  const byDept = await client.post('/aggregate', { predicate: 'senior_pay', args: ['?p', '?dept', '?a'], argIndex: 2, operation: 'SUM', groupBy: ['dept'] });
  t.is(byDept.status, 200, byDept.text);
  t.deepEqual(byDept.json, { operation: 'SUM', result: 160, matchedFacts: 3, skipped: 1, groups: [{ key: { dept: 'eng' }, result: 100 }, { key: { dept: 'ops' }, result: 60 }] });
  const query = await client.post('/aggregate', { query: [{ predicate: 'senior_pay', args: ['?p', '?dept', '?a'] }], variable: 'p', operation: 'COUNT_DISTINCT', groupBy: ['dept'] });
  t.deepEqual(query.json, { operation: 'COUNT_DISTINCT', result: 3, matchedFacts: 3, skipped: 0, groups: [{ key: { dept: 'eng' }, result: 1 }, { key: { dept: 'ops' }, result: 2 }] });
  t.is((await client.post('/aggregate', { predicate: 'senior_pay', args: ['?p', '?d', '?a'], argIndex: 2, operation: 'COUNT', infer: false })).json.result, 0);
});

test('aggregate › bad input › 400 naming the problem', async (t) => {
  const client = tenantApi(t.context.server.url, 'agg_bad');
  assertError(t, await client.post('/aggregate', { predicate: 'p', args: ['?x'], operation: 'SUM' }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/aggregate', { predicate: 'p', args: ['?x'], argIndex: 1, operation: 'SUM' }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/aggregate', { predicate: 'p', args: ['?x'], argIndex: 0, operation: 'MEDIAN' }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/aggregate', { predicate: 'p', args: ['?x'], operation: 'COUNT', groupBy: ['y'] }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/aggregate', { predicate: 'p', args: ['?x'], operation: 'COUNT', groupBy: ['?x'] }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/aggregate', { query: [{ predicate: 'p', args: ['?x'] }], variable: 'z', operation: 'MAX' }), 400, 'VALIDATION_ERROR');
});

test('ask/batch › a failing query in the middle › its own error envelope; the others answered, in order', async (t) => {
  const client = tenantApi(t.context.server.url, 'batch');
  t.is((await client.post('/tell', { facts: SALARIES })).status, 200);
  const reply = await client.post('/ask/batch', {
    queries: [
      { predicate: 'salary', args: ['ann', '?d', '?a'] },
      { predicate: 'salary', args: 'not-a-list' },
      { predicate: 'salary', args: ['?p', '?d', '?a'], cursor: 'not-a-cursor' },
      { query: [{ predicate: 'salary', args: ['?p', 'eng', '?a'] }], limit: 1 },
      { predicate: 'nothing', args: [] },
    ],
  });
  t.is(reply.status, 200, reply.text);
  const [first, bad, badCursor, third, fourth] = reply.json.results;
  t.is(badCursor.error.code, 'VALIDATION_ERROR', 'a failure while answering is that query\'s error too');
  t.deepEqual(first.results.map((r: any) => r.args), [['ann', 'eng', 100]]);
  t.is(bad.error.code, 'VALIDATION_ERROR');
  t.deepEqual(Object.keys(bad.error).sort(), ['code', 'details', 'message', 'type']);
  t.regex(bad.error.message, /queries\.1/);
  t.is(third.results.length, 1);
  t.is(typeof third.cursor, 'string');
  t.deepEqual(fourth, { results: [] });
  assertError(t, await client.post('/ask/batch', { queries: [] }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/ask/batch', { queries: Array.from({ length: 101 }, () => ({ predicate: 'p' })) }), 400, 'VALIDATION_ERROR');
});

test('PATCH /tell › changes the given fields, keeps the others, bumps the version; absent fact › 404 FACT_NOT_FOUND', async (t) => {
  const client = tenantApi(t.context.server.url, 'patch');
  const told = await client.post('/tell', { predicate: 'plan', args: ['acme', 'pro'], confidence: 0.9, metadata: { source: 'crm' }, validUntil: 4_102_444_800_000 });
  t.is(told.status, 200);
  const patched = await client.request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'], confidence: 0.5 });
  t.is(patched.status, 200, patched.text);
  t.like(patched.json.fact, { predicate: 'plan', args: ['acme', 'pro'], scope: 'main', version: 2, confidence: 0.5, metadata: { source: 'crm' }, validUntil: 4_102_444_800_000 });
  t.is(patched.json.fact.createdAt, told.json.facts[0].createdAt);
  const cleared = await client.request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'], metadata: null, validUntil: null });
  t.like(cleared.json.fact, { version: 3, confidence: 0.5, metadata: null, validUntil: null });
  const [stored] = (await client.post('/ask', { predicate: 'plan', args: ['acme', '?'] })).json.results;
  t.like(stored, { version: 3, confidence: 0.5, metadata: null });
  assertError(t, await client.request('PATCH', '/tell', { predicate: 'plan', args: ['globex', 'pro'], confidence: 0.1 }), 404, 'FACT_NOT_FOUND');
  assertError(t, await client.request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'], scope: 'other', confidence: 0.1 }), 404, 'FACT_NOT_FOUND');
  assertError(t, await client.request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'], negated: true, confidence: 0.1 }), 404, 'FACT_NOT_FOUND');
  assertError(t, await tenantApi(t.context.server.url, 'patch_nobody').request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'], confidence: 0.1 }), 404, 'FACT_NOT_FOUND');
  assertError(t, await client.request('PATCH', '/tell', { predicate: 'plan', args: ['acme', 'pro'] }), 400, 'VALIDATION_ERROR');
});

test('PATCH /tell › a fact outside its validity window › still found, and its validity can be changed', async (t) => {
  const client = tenantApi(t.context.server.url, 'patch_valid');
  t.is((await client.post('/tell', { predicate: 'promo', args: ['spring'], validFrom: 4_102_444_800_000 })).status, 200);
  t.deepEqual((await client.post('/ask', { predicate: 'promo', args: ['?'] })).json, { results: [] });
  const patched = await client.request('PATCH', '/tell', { predicate: 'promo', args: ['spring'], validFrom: null });
  t.is(patched.status, 200, patched.text);
  t.is((await client.post('/ask', { predicate: 'promo', args: ['?'] })).json.results.length, 1);
});

test('PATCH /tell › a fact with an embedding › keeps it (search by vector still finds it)', async (t) => {
  const { url } = t.context.server;
  t.is((await api(url).post('/databases', { name: 'patch_emb' })).status, 201);
  t.is((await api(url).request('PUT', '/admin/databases/patch_emb/settings', { embeddingDimensions: 3 })).status, 200);
  const client = tenantApi(url, 'patch_emb', 'patch_emb');
  t.is((await client.post('/tell', { predicate: 'doc', args: ['a'], embedding: [1, 0, 0] })).status, 200);
  t.is((await client.request('PATCH', '/tell', { predicate: 'doc', args: ['a'], metadata: { reviewed: true } })).status, 200);
  const near = await client.post('/search', { queryEmbedding: [1, 0, 0], limit: 1 });
  t.is(near.status, 200, near.text);
  t.deepEqual(near.json.results.map((r: any) => [r.args, r.version, r.metadata]), [[['a'], 2, { reviewed: true }]]);
  t.true(near.json.results[0].why.vector > 0.99);
});
