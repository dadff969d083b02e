import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type Term, askAll, factId, tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type Reply, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('ask'));

const argsOf = (results: { args: Term[] }[]) => results.map((r) => JSON.stringify(r.args)).sort();

test('POST /ask › when the pattern has variables › returns each match with its bindings', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'employee', args: ['ann', 'eng'] }, { predicate: 'employee', args: ['bob', 'ops'] }, { predicate: 'dept', args: ['eng'] }] });
  const reply = await c.post('/ask', { predicate: 'employee', args: ['?person', 'eng'] });
  t.is(reply.status, 200, reply.text);
  t.is(reply.json.results.length, 1);
  t.like(reply.json.results[0], { predicate: 'employee', args: ['ann', 'eng'], negated: false, scope: 'main', bindings: { person: 'ann' } });
  t.deepEqual(reply.json.results[0].bindings, { person: 'ann' });
  t.is(reply.json.cursor, null);
  const both = await askAll(c, { predicate: 'employee', args: ['?p', '?d'] });
  t.deepEqual(both.map((r) => r.bindings).sort((a, b) => String(a.p).localeCompare(String(b.p))), [
    { p: 'ann', d: 'eng' },
    { p: 'bob', d: 'ops' },
  ]);
});

test('POST /ask › when a variable repeats › only facts with equal args at those positions match', async (t) => {
  const c = client(t);
  await tellOk(c, {
    facts: [
      { predicate: 'same', args: ['a', 'a'] },
      { predicate: 'same', args: ['a', 'b'] },
      { predicate: 'same', args: [1, 1] },
      { predicate: 'same', args: [1, '1'] },
      { predicate: 'same', args: [null, null] },
      { predicate: 'tri', args: ['x', 'y', 'x'] },
      { predicate: 'tri', args: ['x', 'y', 'z'] },
    ],
  });
  const pairs = await askAll(c, { predicate: 'same', args: ['?x', '?x'] });
  t.deepEqual(argsOf(pairs), argsOf([{ args: ['a', 'a'] }, { args: [1, 1] }, { args: [null, null] }]));
  for (const r of pairs) t.deepEqual(r.bindings, { x: r.args[0] as Term });
  const tri = await askAll(c, { predicate: 'tri', args: ['?x', '?y', '?x'] });
  t.deepEqual(argsOf(tri), [JSON.stringify(['x', 'y', 'x'])]);
  t.deepEqual(tri[0]?.bindings, { x: 'x', y: 'y' });
  t.deepEqual(argsOf(await askAll(c, { predicate: 'same', args: ['a', '?x'] })), [JSON.stringify(['a', 'a']), JSON.stringify(['a', 'b'])]);
});

test('POST /ask › when "?" is used › it matches anything, binds nothing, and two "?" need not be equal', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'edge', args: ['a', 'b'] }, { predicate: 'edge', args: ['c', 'c'] }] });
  const any = await askAll(c, { predicate: 'edge', args: ['?', '?'] });
  t.is(any.length, 2);
  for (const r of any) t.deepEqual(r.bindings, {});
  const half = await askAll(c, { predicate: 'edge', args: ['?', '?to'] });
  t.deepEqual(half.map((r) => r.bindings).sort((a, b) => String(a.to).localeCompare(String(b.to))), [{ to: 'b' }, { to: 'c' }]);
});

/** Facts of one arity with a few values per position (mixed types), so partial patterns match several. */
function nAryFacts(arity: number): Term[][] {
  const values: Term[] = ['a', 7, 'b', true, null, -1.5];
  const facts = new Map<string, Term[]>();
  for (let k = 0; k < 24; k++) {
    const args = Array.from({ length: arity }, (_, i) => values[(k * (i + 1) + i) % (i % 2 === 0 ? 3 : 4) + (i % 3)] as Term);
    facts.set(JSON.stringify(args), args);
  }
  return [...facts.values()];
}

function subsetsFor(arity: number): number[][] {
  if (arity === 0) return [[]];
  if (arity === 1) return [[], [0]];
  if (arity === 2) return [[], [0], [1], [0, 1]];
  const all = Array.from({ length: arity }, (_, i) => i);
  const last = arity - 1;
  const mid = Math.floor(arity / 2);
  return [[], [0], [mid], [last], [1, 3 % arity], [0, last], [mid, mid + 1], [0, mid, last], all.filter((i) => i % 2 === 0), all.filter((i) => i !== mid), all];
}

async function checkSubset(t: ExecutionContext<unknown>, c: Api, predicate: string, facts: Term[][], bound: number[]) {
  const arity = facts[0]?.length ?? 0;
  const probe = facts[facts.length >> 1] as Term[];
  const pattern = Array.from({ length: arity }, (_, i) => (bound.includes(i) ? probe[i] : `?v${i}`)) as Term[];
  const expected = facts.filter((args) => bound.every((i) => JSON.stringify(args[i]) === JSON.stringify(probe[i])));
  const results = await askAll(c, { predicate, args: pattern });
  t.deepEqual(argsOf(results), argsOf(expected.map((args) => ({ args }))), `arity ${arity}, bound {${bound.join(',')}}`);
  for (const r of results) {
    const want = Object.fromEntries(Array.from({ length: arity }, (_, i) => i).filter((i) => !bound.includes(i)).map((i) => [`v${i}`, r.args[i]]));
    t.deepEqual(r.bindings, want, `bindings, arity ${arity}, bound {${bound.join(',')}}`);
  }
}

for (const arity of [0, 1, 2, 5, 16]) {
  test(`POST /ask › when facts have ${arity} args › every subset of bound positions finds exactly the matching facts`, async (t) => {
    const c = client(t);
    const predicate = `nary${arity}`;
    const facts = nAryFacts(arity);
    await tellOk(c, { facts: facts.map((args) => ({ predicate, args })) });
    // Facts of other arities and predicates must never leak into the answers.
    await tellOk(c, { facts: [{ predicate, args: Array(arity === 16 ? 15 : arity + 1).fill('a') }, { predicate: `${predicate}x`, args: facts[0] }] });
    for (const bound of subsetsFor(arity)) await checkSubset(t, c, predicate, facts, bound);
  });
}

test('POST /ask › when facts have 0 args › the pattern with no args finds the one fact, with empty bindings', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'raining' });
  const reply = await c.post('/ask', { predicate: 'raining' });
  t.is(reply.json.results.length, 1);
  t.like(reply.json.results[0], { predicate: 'raining', args: [], bindings: {} });
  t.deepEqual((await c.post('/ask', { predicate: 'raining', args: ['?x'] })).json, { results: [] });
});

test('POST /ask › when args are numbers and strings › 30 and "30" are distinct terms and 30 comes back as a JSON number', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'age', args: ['ann', 30] }, { predicate: 'age', args: ['bob', '30'] }] });
  const number = await c.post('/ask', { predicate: 'age', args: ['?who', 30] });
  t.is(number.json.results.length, 1);
  t.is(number.json.results[0].bindings.who, 'ann');
  t.true(number.text.includes('"args":["ann",30]'), number.text.slice(0, 200));
  t.false(number.text.includes('30.0'));
  const string = await c.post('/ask', { predicate: 'age', args: ['?who', '30'] });
  t.deepEqual(string.json.results.map((r: { bindings: object }) => r.bindings), [{ who: 'bob' }]);
  // 30.0 in the request is the number 30 (JSON has one number type).
  const decimal = await c.post('/ask', '{"predicate":"age","args":["?who",30.0]}');
  t.deepEqual(decimal.json.results.map((r: { bindings: object }) => r.bindings), [{ who: 'ann' }]);
  const all = await c.post('/ask', { predicate: 'age', args: ['?who', '?age'] });
  t.true(all.text.includes('"age":30}'), 'the number binding is a JSON number');
  t.true(all.text.includes('"age":"30"}'), 'the string binding is a JSON string');
});

test('POST /ask › when args are booleans and null › they are terms of their own type', async (t) => {
  const c = client(t);
  const values: Term[] = [true, false, null, 'true', 'false', 'null', 0, ''];
  await tellOk(c, { facts: values.map((v) => ({ predicate: 'flag', args: [v] })) });
  for (const v of values) {
    const results = await askAll(c, { predicate: 'flag', args: [v] });
    t.deepEqual(argsOf(results), [JSON.stringify([v])], `flag(${JSON.stringify(v)})`);
  }
  t.deepEqual(argsOf(await askAll(c, { predicate: 'flag', args: ['?v'] })), argsOf(values.map((v) => ({ args: [v] }))));
});

test('POST /ask › when args are negative, fractional, huge or tiny numbers › they round-trip exactly', async (t) => {
  const c = client(t);
  const numbers = [-1, -1.5, 0.1, 0.30000000000000004, -0.000001, 1e21, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -(2 ** 31), 123456789.123];
  await tellOk(c, { facts: numbers.map((n) => ({ predicate: 'num', args: [n] })) });
  const all = await askAll(c, { predicate: 'num', args: ['?n'] });
  t.deepEqual(all.map((r) => r.bindings.n).sort(), [...numbers].sort());
  for (const n of numbers) t.is((await askAll(c, { predicate: 'num', args: [n] })).length, 1, `num(${n})`);
  // -0 and 0 are one term.
  await tellOk(c, { predicate: 'zero', args: [-0] });
  t.deepEqual(argsOf(await askAll(c, { predicate: 'zero', args: [0] })), ['[0]']);
});

test('POST /ask › when args are unicode (emoji, \\u0000, control characters) › they round-trip exactly', async (t) => {
  const c = client(t);
  const strings = ['🦊', 'naïve café', '日本語', 'שלום', 'e\u0301', 'a\u0000b', '\u0000', '\u0001', '\u0001\u0000', '\u0000\u0001\u0002', 'x\u0001\u0002y', '\uffff', '𝄞😀👩‍👩‍👧', '\\', '"quoted"', ' '];
  await tellOk(c, { facts: strings.map((s, i) => ({ predicate: 'text', args: [s, i] })) });
  const all = await c.post('/ask', { predicate: 'text', args: ['?s', '?i'], limit: 1000 });
  t.is(all.status, 200);
  const byIndex = new Map<number, string>(all.json.results.map((r: { args: [string, number] }) => [r.args[1], r.args[0]]));
  strings.forEach((s, i) => t.is(byIndex.get(i), s, `text #${i}`));
  for (const [i, s] of strings.entries()) {
    const exact = await askAll(c, { predicate: 'text', args: [s, '?i'] });
    t.deepEqual(exact.map((r) => r.bindings.i), [i], `exact match of ${JSON.stringify(s)}`);
  }
  // \u0000 inside a predicate is escaped too.
  await tellOk(c, { predicate: 'odd\u0000pred', args: ['a\u0000'] });
  t.like(await askAll(c, { predicate: 'odd\u0000pred', args: ['?x'] }), [{ predicate: 'odd\u0000pred', bindings: { x: 'a\u0000' } }]);
  t.deepEqual(await askAll(c, { predicate: 'odd', args: ['?x'] }), []);
});

test('POST /ask › when a string holds a lone UTF-16 surrogate › 400 (it could not be stored as itself)', async (t) => {
  const c = client(t);
  assertError(t, await c.post('/tell', '{"predicate":"lone","args":["\\ud800"]}'), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/ask', '{"predicate":"lone","args":["a\\udc00"]}'), 400, 'VALIDATION_ERROR');
  t.deepEqual((await c.post('/ask', { predicate: 'lone', args: ['?x'] })).json, { results: [] });
});

test('POST /ask › when 250 facts are read 100 at a time › three pages, no duplicates, no gaps', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: Array.from({ length: 250 }, (_, i) => ({ predicate: 'item', args: [i, `n${i}`] })) });
  const seen: number[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const reply: { status: number; json: { results: { args: [number, string] }[]; cursor: string | null } } = await c.post('/ask', {
      predicate: 'item',
      args: ['?i', '?n'],
      limit: 100,
      cursor,
    });
    t.is(reply.status, 200);
    sizes.push(reply.json.results.length);
    seen.push(...reply.json.results.map((r) => r.args[0]));
    cursor = reply.json.cursor;
  } while (cursor !== null && sizes.length < 10);
  t.deepEqual(sizes, [100, 100, 50]);
  t.is(new Set(seen).size, 250, 'no duplicates');
  t.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i), 'no gaps');
});

test('POST /ask › when a page boundary falls inside one fact held in several scopes › no duplicates, no gaps', async (t) => {
  const c = client(t);
  const facts = Array.from({ length: 5 }, (_, i) => ({ predicate: 'multi', args: [i] }));
  for (const scope of ['main', 's2', 's3']) await tellOk(c, { scope, facts });
  for (const limit of [1, 2, 4, 7]) {
    const pages = await readPages(c, { predicate: 'multi', args: ['?i'], limit });
    const ids = pages.flat().map((r) => factId(r));
    t.is(ids.length, 15, `limit ${limit}`);
    t.is(new Set(ids).size, 15, `limit ${limit}: no duplicates`);
    const distinct = await readPages(c, { predicate: 'multi', args: ['?i'], limit, distinct: true });
    t.deepEqual(distinct.flat().map((r) => r.args[0]).sort(), [0, 1, 2, 3, 4], `distinct, limit ${limit}`);
  }
});

async function readPages(c: Api, body: Record<string, unknown>) {
  const pages: { predicate: string; args: Term[]; scope: string }[][] = [];
  let cursor: string | null = null;
  do {
    const reply: Reply = await c.post('/ask', { ...body, cursor });
    if (reply.status !== 200) throw new Error(reply.text);
    pages.push(reply.json.results);
    cursor = reply.json.cursor ?? null;
  } while (cursor !== null && pages.length < 100);
  return pages;
}

test('POST /ask › when the cursor belongs to another query › 400', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: Array.from({ length: 5 }, (_, i) => ({ predicate: 'cur', args: [i, 'x'] })) });
  const first = await c.post('/ask', { predicate: 'cur', args: ['?i', '?x'], limit: 2 });
  const cursor = first.json.cursor as string;
  t.is(typeof cursor, 'string');
  for (const other of [
    { predicate: 'cur', args: ['?i', 'x'] },
    { predicate: 'other', args: ['?i', '?x'] },
    { predicate: 'cur', args: ['?i', '?x'], scope: 'main' },
    { predicate: 'cur', args: ['?i', '?x'], negated: true },
  ]) {
    assertError(t, await c.post('/ask', { ...other, limit: 2, cursor }), 400, 'VALIDATION_ERROR');
  }
  const next = await c.post('/ask', { predicate: 'cur', args: ['?i', '?x'], limit: 2, cursor });
  t.is(next.status, 200, 'the same query with another limit may continue');
});

test('POST /ask › when the cursor is garbage › 400', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'g', args: [1] });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  for (const cursor of ['garbage', '!!!', 'e30', b64({ skip: -1, q: 'x' }), b64({ skip: 1.5 }), b64([1, 2]), b64(null), b64({ group: 5, skip: 0 }), 'x'.repeat(4097), 12]) {
    const reply = await c.post('/ask', { predicate: 'g', args: ['?x'], cursor });
    assertError(t, reply, 400, 'VALIDATION_ERROR');
  }
});

test('POST /ask › when limit is out of 1–10,000 › 400; 10,000 is fine', async (t) => {
  const c = client(t);
  for (const limit of [10_001, 0, -1, 1.5, '10']) {
    assertError(t, await c.post('/ask', { predicate: 'p', args: ['?x'], limit }), 400, 'VALIDATION_ERROR');
  }
  t.is((await c.post('/ask', { predicate: 'p', args: ['?x'], limit: 10_000 })).status, 200);
});

test('POST /ask › when nothing matches › the body is exactly {"results":[]}', async (t) => {
  const c = client(t);
  t.deepEqual((await c.post('/ask', { predicate: 'nothing', args: ['?x'] })).json, { results: [] }, 'a tenant with no facts');
  await tellOk(c, { predicate: 'something', args: ['a'] });
  for (const body of [
    { predicate: 'nothing', args: ['?x'] },
    { predicate: 'something', args: ['b'] },
    { predicate: 'something', args: ['?x', '?y'] },
    { predicate: 'something', args: ['?x'], scope: 'no_such_scope' },
    { predicate: 'something', args: ['?x'], negated: true },
  ]) {
    const reply = await c.post('/ask', body);
    t.is(reply.status, 200);
    t.deepEqual(reply.json, { results: [] }, JSON.stringify(body));
  }
});

test('POST /ask › when the same fact is in two scopes › no scope returns both, distinct:true one, a scope restricts to it', async (t) => {
  const c = client(t);
  await tellOk(c, { predicate: 'plan', args: ['pro'] });
  await tellOk(c, { predicate: 'plan', args: ['pro'], scope: 's2' });
  await tellOk(c, { predicate: 'plan', args: ['free'], scope: 's2' });
  const all = await askAll(c, { predicate: 'plan', args: ['?tier'] });
  t.deepEqual(all.map((r) => `${r.scope}:${r.args[0]}`).sort(), ['main:pro', 's2:free', 's2:pro']);
  const distinct = await askAll(c, { predicate: 'plan', args: ['?tier'], distinct: true });
  t.deepEqual(distinct.map((r) => r.args[0]).sort(), ['free', 'pro']);
  const main = await askAll(c, { predicate: 'plan', args: ['?tier'], scope: 'main' });
  t.deepEqual(main.map((r) => `${r.scope}:${r.args[0]}`), ['main:pro']);
  const s2 = await askAll(c, { predicate: 'plan', args: ['?tier'], scope: 's2' });
  t.deepEqual(s2.map((r) => `${r.scope}:${r.args[0]}`).sort(), ['s2:free', 's2:pro']);
  t.deepEqual(await askAll(c, { predicate: 'plan', args: ['?tier'], scope: null }), all, 'scope null = all scopes');
});

test('POST /ask › when the scope name is invalid › 400', async (t) => {
  const c = client(t);
  for (const scope of ['../x', 'a b', '', 'x'.repeat(65), 5]) {
    assertError(t, await c.post('/ask', { predicate: 'p', args: [], scope }), 400, 'VALIDATION_ERROR');
  }
});

test('POST /ask › when the predicate is a variable or empty › 400', async (t) => {
  const c = client(t);
  for (const predicate of ['?p', '', 5, null]) {
    assertError(t, await c.post('/ask', { predicate, args: [] }), 400, 'VALIDATION_ERROR');
  }
});
