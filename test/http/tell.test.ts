import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { askAll, eventually, factId, tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }, tenant = uniqueName('tell'), database?: string) =>
  tenantApi(t.context.server.url, tenant, database);

test('POST /tell › when given one fact › stores it and replies with the stored fact', async (t) => {
  const tenant = uniqueName('acme');
  const c = client(t, tenant);
  const before = Date.now();
  const reply = await c.post('/tell', { predicate: 'plan', args: ['enterprise'] });
  t.is(reply.status, 200, reply.text);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.is(reply.json.told, 1);
  t.is(reply.json.facts.length, 1);
  const fact = reply.json.facts[0];
  t.like(fact, {
    predicate: 'plan',
    args: ['enterprise'],
    negated: false,
    scope: 'main',
    version: 1,
    confidence: 1,
    $context: `vesper://default/~${tenant}`,
  });
  t.is(typeof fact.createdAt, 'number');
  t.true(fact.createdAt >= before - 1000 && fact.createdAt <= Date.now() + 1000, 'createdAt is epoch ms of about now');
  const asked = await askAll(c, { predicate: 'plan', args: ['?tier'] });
  t.is(asked.length, 1);
  t.deepEqual(asked[0]?.bindings, { tier: 'enterprise' });
});

test('POST /tell › when the database is named › $context names it', async (t) => {
  const tenant = uniqueName('acme');
  const reply = await client(t, tenant, 'production').post('/tell', { predicate: 'plan', args: ['enterprise'] });
  t.is(reply.status, 200, reply.text);
  t.is(reply.json.facts[0].$context, `vesper://production/~${tenant}`);
});

test('POST /tell › when given {facts:[…]} › stores every fact and replies with each, in order', async (t) => {
  const c = client(t);
  const facts = [
    { predicate: 'employee', args: ['ann', 'eng'] },
    { predicate: 'employee', args: ['bob', 'ops'] },
    { predicate: 'dept', args: ['eng'], scope: 's2' },
  ];
  const reply = await c.post('/tell', { facts });
  t.is(reply.status, 200, reply.text);
  t.is(reply.json.told, 3);
  t.deepEqual(
    reply.json.facts.map((f: { predicate: string; args: unknown[]; scope: string }) => [f.predicate, f.args, f.scope]),
    [
      ['employee', ['ann', 'eng'], 'main'],
      ['employee', ['bob', 'ops'], 'main'],
      ['dept', ['eng'], 's2'],
    ],
  );
  t.is((await askAll(c, { predicate: 'employee', args: ['?p', '?d'] })).length, 2);
  t.like(await askAll(c, { predicate: 'dept', args: ['?d'] }), [{ scope: 's2', args: ['eng'] }]);
});

test('POST /tell › when the batch names a scope › facts without their own scope go there', async (t) => {
  const c = client(t);
  const reply = await c.post('/tell', { scope: 'batch', facts: [{ predicate: 'p', args: [1] }, { predicate: 'p', args: [2], scope: 'own' }] });
  t.is(reply.status, 200, reply.text);
  t.deepEqual(
    reply.json.facts.map((f: { scope: string }) => f.scope),
    ['batch', 'own'],
  );
});

test('POST /tell › when the fact already exists › upserts: version bumped, createdAt kept, the rest replaced', async (t) => {
  const c = client(t);
  const [first] = await tellOk(c, { predicate: 'plan', args: ['pro'], confidence: 0.5, metadata: { source: 'crm' } });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const [second] = await tellOk(c, { predicate: 'plan', args: ['pro'], confidence: 0.9, metadata: { source: 'billing' } });
  t.is(first?.version, 1);
  t.is(second?.version, 2);
  t.is(second?.createdAt, first?.createdAt);
  t.true((second?.updatedAt as number) >= (first?.updatedAt as number));
  const asked = await askAll(c, { predicate: 'plan', args: ['?x'] });
  t.is(asked.length, 1, 'an upsert does not duplicate the fact');
  t.like(asked[0], { version: 2, confidence: 0.9, metadata: { source: 'billing' }, createdAt: first?.createdAt });
  const [third] = await tellOk(c, { predicate: 'plan', args: ['pro'] });
  t.like(third, { version: 3, confidence: 1, metadata: null }, 'omitted fields are replaced by their defaults');
});

test('POST /tell › when one fact of a batch is invalid › writes nothing (all or nothing)', async (t) => {
  const c = client(t);
  const valid = [
    { predicate: 'aon', args: ['a'] },
    { predicate: 'aon', args: ['b'] },
  ];
  for (const invalid of [
    { predicate: 'aon', args: ['?x'] }, // a variable: refused by the service
    { predicate: 'aon', args: ['c'], confidence: 2 }, // refused by the schema
    { predicate: 'aon', args: [{ nested: true }] },
    { predicate: '', args: [] },
  ]) {
    const reply = await c.post('/tell', { facts: [...valid, invalid] });
    assertError(t, reply, 400, 'VALIDATION_ERROR');
  }
  t.deepEqual(await askAll(c, { predicate: 'aon', args: ['?x'] }), []);
});

test('POST /tell › when a batch contradicts itself or the store midway › writes nothing (409)', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'open', args: ['door'], negated: true });
  const midway = await c.post('/tell', { facts: [{ predicate: 'before', args: [1] }, { predicate: 'open', args: ['door'] }] });
  assertError(t, midway, 409, 'CONFLICT');
  const inside = await c.post('/tell', {
    facts: [
      { predicate: 'before', args: [2] },
      { predicate: 'lit', args: ['lamp'] },
      { predicate: 'lit', args: ['lamp'], negated: true },
    ],
  });
  assertError(t, inside, 409, 'CONFLICT');
  t.deepEqual(await askAll(c, { predicate: 'before', args: ['?n'] }), []);
  t.deepEqual(await askAll(c, { predicate: 'lit', args: ['?x'] }), []);
  t.deepEqual(await askAll(c, { predicate: 'lit', args: ['?x'], negated: true }), []);
});

test('POST /tell › when the batch has 10,000 facts › accepts it; 10,001 › 400 and nothing written', async (t) => {
  const c = client(t);
  const batch = (n: number, predicate: string) => ({ facts: Array.from({ length: n }, (_, i) => ({ predicate, args: [i] })) });
  const ok = await c.post('/tell', batch(10_000, 'big'));
  t.is(ok.status, 200, ok.text.slice(0, 300));
  t.is(ok.json.told, 10_000);
  const stored = await c.post('/ask', { predicate: 'big', args: ['?i'], limit: 10_000 });
  t.is(stored.json.results.length, 10_000);
  t.is(stored.json.cursor, null);
  const tooMany = await c.post('/tell', batch(10_001, 'toobig'));
  assertError(t, tooMany, 400, 'VALIDATION_ERROR');
  t.regex(tooMany.json.message, /10000|10,000/);
  t.deepEqual((await c.post('/ask', { predicate: 'toobig', args: ['?i'] })).json, { results: [] });
});

test('POST /tell › when NOT p holds in the scope › telling p is a 409 CONFLICT; in another scope it is fine', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'churned', args: ['acme'], negated: true });
  const conflict = await c.post('/tell', { predicate: 'churned', args: ['acme'] });
  assertError(t, conflict, 409, 'CONFLICT');
  t.like(conflict.json, { type: 'ConflictException', details: { predicate: 'churned', args: ['acme'], scope: 'main' } });
  const elsewhere = await c.post('/tell', { predicate: 'churned', args: ['acme'], scope: 'hypothesis' });
  t.is(elsewhere.status, 200, elsewhere.text);
  t.like(await askAll(c, { predicate: 'churned', args: ['?c'] }), [{ scope: 'hypothesis', negated: false }]);
});

test('POST /tell › when p holds in the scope › telling NOT p is a 409 CONFLICT too', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'active', args: ['acme'] });
  assertError(t, await c.post('/tell', { predicate: 'active', args: ['acme'], negated: true }), 409, 'CONFLICT');
  t.is((await askAll(c, { predicate: 'active', args: ['?c'], negated: true })).length, 0);
});

test('POST /tell › when the contradicting fact has expired › telling is fine', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'blocked', args: ['acme'], negated: true, validUntil: Date.now() - 1000 });
  const reply = await c.post('/tell', { predicate: 'blocked', args: ['acme'] });
  t.is(reply.status, 200, reply.text);
});

test('POST /tell › when negated:true › the fact is asked with negated:true, not without', async (t) => {
  const c = client(t);
  const [told] = await tellOk(c, { predicate: 'likes', args: ['bob', 'spam'], negated: true });
  t.is(told?.negated, true);
  t.like(await askAll(c, { predicate: 'likes', args: ['?p', '?x'], negated: true }), [{ negated: true, args: ['bob', 'spam'], bindings: { p: 'bob', x: 'spam' } }]);
  t.deepEqual(await askAll(c, { predicate: 'likes', args: ['?p', '?x'] }), []);
});

test('POST /tell › when metadata is larger than 8 KiB › 400; exactly 8 KiB › stored', async (t) => {
  const c = client(t);
  // JSON.stringify({x: s}) is s.length + 8 bytes for ASCII s.
  const atLimit = { x: 'a'.repeat(8192 - 8) };
  t.is(Buffer.byteLength(JSON.stringify(atLimit)), 8192);
  const ok = await c.post('/tell', { predicate: 'meta', args: ['fits'], metadata: atLimit });
  t.is(ok.status, 200, ok.text.slice(0, 300));
  t.deepEqual(ok.json.facts[0].metadata, atLimit);
  const tooBig = await c.post('/tell', { predicate: 'meta', args: ['too_big'], metadata: { x: 'a'.repeat(8192 - 7) } });
  assertError(t, tooBig, 400, 'VALIDATION_ERROR');
  const multibyte = await c.post('/tell', { predicate: 'meta', args: ['emoji'], metadata: { x: '😀'.repeat(2100) } });
  assertError(t, multibyte, 400, 'VALIDATION_ERROR'); // 2,100 characters but 8,400+ bytes
  t.is((await askAll(c, { predicate: 'meta', args: ['?x'] })).length, 1);
});

test('POST /tell › when confidence is outside 0–1 › 400; 0 and 1 are fine', async (t) => {
  const c = client(t);
  for (const confidence of [-0.01, 1.01, -1, 2, '0.5', null]) {
    assertError(t, await c.post('/tell', { predicate: 'conf', args: [String(confidence)], confidence }), 400, 'VALIDATION_ERROR');
  }
  for (const confidence of [0, 1, 0.25]) {
    const reply = await c.post('/tell', { predicate: 'conf', args: [confidence], confidence });
    t.is(reply.status, 200, reply.text);
    t.is(reply.json.facts[0].confidence, confidence);
  }
  t.is((await askAll(c, { predicate: 'conf', args: ['?x'] })).length, 3);
});

test('POST /tell › when an arg is a variable › 400; "??x" stores the literal "?x"', async (t) => {
  const c = client(t);
  for (const args of [['?x'], ['a', '?'], ['?who', 'b']]) {
    const reply = await c.post('/tell', { predicate: 'var', args });
    assertError(t, reply, 400, 'VALIDATION_ERROR');
  }
  const literal = await c.post('/tell', { predicate: 'var', args: ['??x', '???'] });
  t.is(literal.status, 200, literal.text);
  t.deepEqual(literal.json.facts[0].args, ['?x', '??']);
  t.like(await askAll(c, { predicate: 'var', args: ['?a', '?b'] }), [{ args: ['?x', '??'], bindings: { a: '?x', b: '??' } }]);
  t.is((await askAll(c, { predicate: 'var', args: ['??x', '?'] })).length, 1, 'a pattern finds it with the same escape');
  t.is((await askAll(c, { predicate: 'var', args: ['x', '?'] })).length, 0);
});

test('POST /tell › when ttl is 50 ms › the fact disappears from ask', async (t) => {
  const c = client(t);
  const [told] = await tellOk(c, { predicate: 'session', args: ['s1'], ttl: 50 });
  t.is(told?.ttl, 50);
  t.is(told?.expiresAt, (told?.createdAt as number) + 50);
  await tellOk(c, { predicate: 'session', args: ['long'], ttl: 3_600_000 });
  const gone = await eventually(async () => (await askAll(c, { predicate: 'session', args: ['s1'] })).length === 0);
  t.true(gone, 'a fact past its ttl is invisible');
  t.like(await askAll(c, { predicate: 'session', args: ['?s'] }), [{ args: ['long'] }]);
});

test('POST /tell › when ttl is not a positive integer › 400', async (t) => {
  const c = client(t);
  for (const ttl of [0, -5, 1.5, '100']) {
    assertError(t, await c.post('/tell', { predicate: 'ttl', args: [String(ttl)], ttl }), 400, 'VALIDATION_ERROR');
  }
});

test('POST /tell › when validFrom is in the future or validUntil in the past › the fact is invisible', async (t) => {
  const c = client(t);
  const now = Date.now();
  await tellOk(c, {
    facts: [
      { predicate: 'valid', args: ['future'], validFrom: now + 3_600_000 },
      { predicate: 'valid', args: ['past'], validUntil: now - 1000 },
      { predicate: 'valid', args: ['now'], validFrom: now - 1000, validUntil: now + 3_600_000 },
    ],
  });
  t.like(await askAll(c, { predicate: 'valid', args: ['?w'] }), [{ args: ['now'] }]);
  t.is((await askAll(c, { predicate: 'valid', args: ['?w'] })).length, 1);
});

test('POST /tell › when the body carries unknown fields › 400 naming them', async (t) => {
  const reply = await client(t).post('/tell', { predicate: 'p', args: [], tenant: 'someone_else' });
  assertError(t, reply, 400, 'VALIDATION_ERROR');
  t.regex(JSON.stringify(reply.json.details), /tenant/);
});

test('POST /tell › when read-only fields of a reply are echoed back › they are accepted and ignored', async (t) => {
  const c = client(t);
  const [first] = await tellOk(c, { predicate: 'echo', args: ['x'] });
  const [again] = await tellOk(c, { ...first, version: 99, createdAt: 1, $context: 'vesper://other/~someone' });
  t.like(again, { version: 2, createdAt: first?.createdAt, $context: first?.$context });
  t.is(factId(again as never), factId(first as never));
});
