import test from 'ava';
import { assertError } from '../helpers/envelope.js';
import { startTestServer, tenantApi } from '../helpers/server.js';

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';

// Issue 12: context passes run under the request budget like asks: a goal over a huge derived
// relation stops with 422 QUERY_BUDGET_EXCEEDED instead of holding the server.
test('context › a goal whose evaluation exceeds the budget › is 422 QUERY_BUDGET_EXCEEDED naming the limit; a small goal still works', async (t) => {
  const server = await startTestServer({ VESPER_QUERY_MAX_TUPLES: '5000' });
  t.teardown(() => server.close());
  const client = tenantApi(server.url, 'goals');
  t.is((await client.post('/tell', { facts: Array.from({ length: 400 }, (_, i) => ({ predicate: 'edge', args: [i, i + 1] })) })).status, 200);
  t.is((await client.post('/rules', { text: REACH })).status, 201);
  const huge = await client.post('/context/optimize', { goals: [{ predicate: 'reach', args: ['?x', '?y'] }], maxFacts: 10 });
  assertError(t, huge, 422, 'QUERY_BUDGET_EXCEEDED');
  t.like(huge.json.details, { limit: 'maxTuples', value: 5000 });
  const small = await client.post('/context/optimize', { goals: [{ predicate: 'reach', args: [395, '?y'] }], maxFacts: 10 });
  t.is(small.status, 200, JSON.stringify(small.json).slice(0, 300));
});
