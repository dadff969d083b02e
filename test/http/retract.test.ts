import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { askAll, tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('retract'));

test('POST /retract › when given one fact › removes it and replies {"retracted":1}', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'plan', args: ['acme', 'pro'] }, { predicate: 'plan', args: ['globex', 'free'] }] });
  const reply = await c.post('/retract', { predicate: 'plan', args: ['acme', 'pro'] });
  t.is(reply.status, 200, reply.text);
  t.deepEqual(reply.json, { retracted: 1 });
  t.deepEqual((await askAll(c, { predicate: 'plan', args: ['?c', '?p'] })).map((r) => r.args), [['globex', 'free']]);
  t.deepEqual((await c.post('/ask', { predicate: 'plan', args: ['acme', '?p'] })).json, { results: [] });
});

test('POST /retract › when the fact does not exist › replies {"retracted":0}', async (t) => {
  const c = client(t);
  t.deepEqual((await c.post('/retract', { predicate: 'never', args: ['told'] })).json, { retracted: 0 }, 'a tenant never written');
  await tellOk(c, { predicate: 'told', args: ['a'] });
  t.deepEqual((await c.post('/retract', { predicate: 'told', args: ['b'] })).json, { retracted: 0 });
  t.deepEqual((await c.post('/retract', { predicate: 'told', args: ['a', 'b'] })).json, { retracted: 0 }, 'another arity');
  t.deepEqual((await c.post('/retract', { predicate: 'told', args: ['a'], negated: true })).json, { retracted: 0 }, 'the other polarity');
  t.is((await askAll(c, { predicate: 'told', args: ['?x'] })).length, 1);
});

test('POST /retract › when given a pattern with variables › removes every match and counts them', async (t) => {
  const c = client(t);
  await tellOk(c, {
    facts: [
      { predicate: 'visit', args: ['ann', 'paris', 2020] },
      { predicate: 'visit', args: ['ann', 'rome', 2021] },
      { predicate: 'visit', args: ['bob', 'paris', 2021] },
      { predicate: 'visit', args: ['bob', 'bob', 2022] },
      { predicate: 'visit', args: ['cid', 'oslo', 2022] },
    ],
  });
  t.deepEqual((await c.post('/retract', { predicate: 'visit', args: ['ann', '?city', '?year'] })).json, { retracted: 2 });
  t.deepEqual((await c.post('/retract', { predicate: 'visit', args: ['?p', '?p', '?'] })).json, { retracted: 1 }, 'a repeated variable only matches equal args');
  t.deepEqual((await c.post('/retract', { predicate: 'visit', args: ['?', '?', 2021] })).json, { retracted: 1 });
  t.deepEqual((await askAll(c, { predicate: 'visit', args: ['?p', '?c', '?y'] })).map((r) => r.args), [['cid', 'oslo', 2022]]);
  t.deepEqual((await c.post('/retract', { predicate: 'visit', args: ['?p', '?c', '?y'] })).json, { retracted: 1 });
  t.deepEqual((await c.post('/ask', { predicate: 'visit', args: ['?p', '?c', '?y'] })).json, { results: [] });
});

test('POST /retract › when a scope is named › only that scope loses the fact; without one › every scope does', async (t) => {
  const c = client(t);
  for (const scope of ['main', 's2', 's3']) await tellOk(c, { scope, facts: [{ predicate: 'status', args: ['x', 'on'] }, { predicate: 'status', args: ['y', 'on'] }] });
  t.deepEqual((await c.post('/retract', { predicate: 'status', args: ['x', 'on'], scope: 's2' })).json, { retracted: 1 });
  const left = await askAll(c, { predicate: 'status', args: ['x', '?v'] });
  t.deepEqual(left.map((r) => r.scope).sort(), ['main', 's3']);
  t.deepEqual((await c.post('/retract', { predicate: 'status', args: ['?who', 'on'] })).json, { retracted: 5 }, 'all scopes: x in main, s3; y in main, s2, s3');
  t.deepEqual((await c.post('/ask', { predicate: 'status', args: ['?who', '?v'] })).json, { results: [] });
});

test('POST /retract › when the scope does not exist › replies {"retracted":0} and touches nothing', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'kept', args: ['a'] });
  t.deepEqual((await c.post('/retract', { predicate: 'kept', args: ['?x'], scope: 'no_such_scope' })).json, { retracted: 0 });
  t.is((await askAll(c, { predicate: 'kept', args: ['?x'] })).length, 1);
});

test('POST /retract › when the fact is negated › retracting it with negated:true removes NOT p, and p can then be told', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'allowed', args: ['bob'], negated: true });
  assertError(t, await c.post('/tell', { predicate: 'allowed', args: ['bob'] }), 409, 'CONFLICT');
  t.deepEqual((await c.post('/retract', { predicate: 'allowed', args: ['bob'], negated: true })).json, { retracted: 1 });
  const told = await c.post('/tell', { predicate: 'allowed', args: ['bob'] });
  t.is(told.status, 200, told.text);
});

test('POST /retract › when a fact is retracted and told again › it comes back as a new fact (version 1)', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'again', args: ['a'] });
  await tellOk(c, { predicate: 'again', args: ['a'] });
  t.deepEqual((await c.post('/retract', { predicate: 'again', args: ['a'] })).json, { retracted: 1 });
  const [back] = await tellOk(c, { predicate: 'again', args: ['a'] });
  t.is(back?.version, 1);
});

test('POST /retract › when a fact is expired or not yet valid › it is removed but not counted', async (t) => {
  const c = client(t);
  const now = Date.now();
  await tellOk(c, {
    facts: [
      { predicate: 'old', args: ['expired'], validUntil: now - 1000 },
      { predicate: 'old', args: ['future'], validFrom: now + 3_600_000 },
      { predicate: 'old', args: ['live'] },
    ],
  });
  t.deepEqual((await c.post('/retract', { predicate: 'old', args: ['?x'] })).json, { retracted: 1 }, 'only the visible fact counts');
  // The invisible ones were removed too: told again, each is a new fact (version 1), not an upsert.
  const again = await tellOk(c, { facts: [{ predicate: 'old', args: ['expired'] }, { predicate: 'old', args: ['future'] }] });
  t.deepEqual(again.map((f) => f.version), [1, 1]);
});

test('POST /retract › when the body is invalid › 400', async (t) => {
  const c = client(t);
  for (const body of [{}, { predicate: 5 }, { predicate: 'p', args: 'x' }, { predicate: 'p', scope: '../x' }, { predicate: 'p', unknown: 1 }, { predicate: 'p', args: Array(17).fill(1) }]) {
    assertError(t, await c.post('/retract', body), 400, 'VALIDATION_ERROR');
  }
});
