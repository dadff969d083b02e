import test from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type Reply, startTestServer, tenantApi } from '../helpers/server.js';

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';

// Issue 12: "heavy operations take a per-tenant concurrency slot so one tenant cannot fill the server".
test('heavy slots › a tenant with its one slot busy › its next rule evaluation is refused with 429, other tenants and its point asks are served', async (t) => {
  const server = await startTestServer({ VESPER_HEAVY_SLOTS_PER_TENANT: '1', VESPER_HEAVY_QUEUE_PER_TENANT: '0' });
  t.teardown(() => server.close());
  const heavy = tenantApi(server.url, 'heavy');
  const light = tenantApi(server.url, 'light');
  for (const client of [heavy, light]) {
    t.is((await client.post('/tell', { facts: Array.from({ length: 300 }, (_, i) => ({ predicate: 'edge', args: [i, i + 1] })) })).status, 200);
    t.is((await client.post('/rules', { text: REACH })).status, 201);
  }
  let refusal: Reply | null = null;
  const served: number[] = [];
  for (let attempt = 0; attempt < 5 && refusal === null; attempt++) {
    let done = false;
    // limit 10,000 > 300 leading values: the whole closure is evaluated (a small limit would stop early).
    const closure = heavy.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 10_000 }).finally(() => (done = true));
    while (!done) {
      const [second, other, point] = await Promise.all([
        heavy.post('/ask', { predicate: 'reach', args: [0, '?y'], limit: 1 }),
        light.post('/ask', { predicate: 'reach', args: [0, '?y'], limit: 1 }),
        heavy.post('/ask', { predicate: 'edge', args: [5, '?y'] }),
      ]);
      if (second.status === 429) refusal ??= second;
      else t.is(second.status, 200);
      t.is(other.status, 200, 'another tenant’s evaluation is not held by this one’s');
      t.deepEqual(point.json.results.map((r: { args: unknown[] }) => r.args), [[5, 6]], 'a stored point ask takes no slot');
      served.push(other.status);
    }
    t.is((await closure).status, 200);
  }
  if (refusal === null) return t.fail('the first evaluation never overlapped a second one');
  assertError(t, refusal, 429, 'RATE_LIMITED');
  t.like(refusal.json.details, { limit: 'concurrency' });
  t.is(refusal.headers.get('retry-after'), '1');
  t.true(served.length > 0);
  t.is((await heavy.post('/ask', { predicate: 'reach', args: [0, '?y'], limit: 1 })).status, 200, 'the slot is free again afterwards');
});
