import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';
import { type EntryJson, label, optimize, sleep } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('ctx'));

test('POST /context/optimize › ranks goal answers, their premises, goal constants, focus, then confidence and recency', async (t) => {
  const c = client(t);
  await c.post('/rules', { text: 'eligible(?c) :- customer(?c), plan(?c, enterprise).' });
  await tellOk(c, {
    facts: [
      { predicate: 'customer', args: ['acme'] },
      { predicate: 'plan', args: ['acme', 'enterprise'], confidence: 0.8 },
      { predicate: 'customer', args: ['bob'] },
      { predicate: 'plan', args: ['bob', 'free'] },
      { predicate: 'contact', args: ['acme', 'ann'] },
      { predicate: 'ticket', args: ['t9', 'open'] },
      { predicate: 'low', args: ['x'], confidence: 0.5 },
      { predicate: 'high', args: ['y'], confidence: 0.9 },
    ],
  });
  await sleep(5);
  await tellOk(c, { predicate: 'fresh', args: ['z'], confidence: 0.5 });
  const window = await optimize(c, { goals: [{ predicate: 'eligible', args: ['?c'] }], predicates: ['ticket'] });
  t.deepEqual(window.entries.map(label), [
    'eligible(acme)', // derived answer: 120 + its weakest premise's confidence
    'customer(acme)', // premise (100) + shares acme (10) + confidence 1
    'plan(acme, enterprise)', // premise + shares acme + confidence 0.8
    'contact(acme, ann)', // shares acme with the answer
    'ticket(t9, open)', // predicate focus
    'fresh(z)', // 0.5 confidence + 1 recency (newest)
    'customer(bob)', // 1 confidence + 0 recency; equal saliences go by canonical key
    'plan(bob, free)',
    'high(y)',
    'low(x)',
  ]);
  const answer = window.entries[0] as EntryJson;
  t.deepEqual(answer.provenance, { rule: 'eligible(?c) :- customer(?c), plan(?c, enterprise).', premises: ['customer(acme)', 'plan(acme, enterprise)'] });
  t.is(answer.confidence, 0.8);
  t.is(answer.createdAt, null);
  t.deepEqual(window.relevantRules, ['eligible(?c) :- customer(?c), plan(?c, enterprise).']);
  t.is(window.totalFactsAvailable, 10);
  t.is(window.totalFactsIncluded, 10);
  t.is(window.totalCharCount, JSON.stringify(window.entries).length);
  t.regex(window.windowId, /^ctx_[0-9a-f]{24}$/);
  const saliences = window.entries.map((e: EntryJson) => e.salience);
  t.deepEqual([...saliences].sort((a, b) => b - a), saliences);
  const stored = window.entries[1] as EntryJson;
  t.like(stored, { scope: 'main', confidence: 1, provenance: null, negated: false });
  t.is(typeof stored.createdAt, 'number');
  t.regex(stored.$context, /^vesper:\/\/default\/~ctx_/);
});

test('POST /context/optimize › a fact included in earlier windows outranks an equal one (access frequency)', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'a', args: [1] }, { predicate: 'b', args: [1] }] });
  t.deepEqual((await optimize(c)).entries.map(label), ['a(1)', 'b(1)']);
  for (let i = 0; i < 3; i++) t.deepEqual((await optimize(c, { predicates: ['b'], maxFacts: 1 })).entries.map(label), ['b(1)']);
  const window = await optimize(c);
  t.deepEqual(window.entries.map(label), ['b(1)', 'a(1)']);
  t.true(window.entries[0].salience > window.entries[1].salience);
});

test('POST /context/optimize › respects maxFacts and maxFactsPerPredicate, and dedups a fact held by several scopes', async (t) => {
  const c = client(t);
  const facts = [];
  for (let i = 0; i < 10; i++) facts.push({ predicate: 'p', args: [i] }, { predicate: 'q', args: [i] }, { predicate: 'r', args: [i] });
  await tellOk(c, { facts });
  await tellOk(c, { facts: [{ predicate: 'p', args: [0], scope: 'other' }] });
  const five = await optimize(c, { maxFacts: 5 });
  t.is(five.entries.length, 5);
  t.is(five.totalFactsIncluded, 5);
  t.is(five.totalFactsAvailable, 30);
  const capped = await optimize(c, { maxFacts: 20, maxFactsPerPredicate: 2 });
  t.is(capped.entries.length, 6);
  for (const predicate of ['p', 'q', 'r']) t.is(capped.entries.filter((e: EntryJson) => e.predicate === predicate).length, 2);
  const all = await optimize(c, { maxFacts: 1000 });
  t.is(all.entries.length, 30);
  t.is(new Set(all.entries.map(label)).size, 30);
  const scoped = await optimize(c, { scope: 'other' });
  t.deepEqual(scoped.entries.map(label), ['p(0)']);
  t.is(scoped.entries[0].scope, 'other');
});

test('POST /context/optimize › expired and not-yet-valid facts are not candidates', async (t) => {
  const c = client(t);
  const now = Date.now();
  await tellOk(c, {
    facts: [
      { predicate: 'live', args: ['a'] },
      { predicate: 'brief', args: ['b'], ttl: 1 },
      { predicate: 'past', args: ['c'], validUntil: now - 1000 },
      { predicate: 'future', args: ['d'], validFrom: now + 3_600_000 },
    ],
  });
  await sleep(10);
  const window = await optimize(c);
  t.deepEqual(window.entries.map(label), ['live(a)']);
  t.is(window.totalFactsAvailable, 1);
});

test('POST /context/optimize › a contradiction keeps the more salient side unless includeContradictions', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'vip', args: ['zed'], confidence: 0.4 }, { predicate: 'other', args: [1] }] });
  await tellOk(c, { predicate: 'vip', args: ['zed'], negated: true, confidence: 0.9, scope: 'crm' });
  const dropped = await optimize(c);
  t.deepEqual(dropped.entries.map(label).sort(), ['-vip(zed)', 'other(1)']);
  t.is(dropped.contradictionsFound, 1);
  t.like(dropped.contradictions[0], { predicate: 'vip', args: ['zed'], included: 'negated', positive: { scope: 'main', confidence: 0.4 }, negated: { scope: 'crm', confidence: 0.9 } });
  const both = await optimize(c, { includeContradictions: true });
  t.deepEqual(both.entries.map(label).sort(), ['-vip(zed)', 'other(1)', 'vip(zed)']);
  t.is(both.contradictionsFound, 1);
  t.is(both.contradictions[0].included, 'both');
  const inMain = await optimize(c, { scope: 'main' });
  t.is(inMain.contradictionsFound, 0);
  t.deepEqual(inMain.entries.map(label).sort(), ['other(1)', 'vip(zed)']);
});

test('POST /context/optimize › the same state gives the same window and windowId', async (t) => {
  const c = client(t);
  const facts = [];
  for (let i = 0; i < 40; i++) facts.push({ predicate: `p${i % 4}`, args: [i, 'x'], confidence: (i % 3) / 2 });
  await tellOk(c, { facts });
  const body = { maxFacts: 12, maxFactsPerPredicate: 4, predicates: ['p1'] };
  const first = await optimize(c, body);
  const second = await optimize(c, body);
  t.is(first.windowId, second.windowId);
  t.deepEqual(first.entries.map(label), second.entries.map(label));
  t.not((await optimize(c, { ...body, maxFacts: 11 })).windowId, first.windowId);
});

test('POST /context/optimize › an unknown tenant or scope gives an empty window', async (t) => {
  const c = client(t);
  const empty = await optimize(c, { sessionId: 'nobody' });
  t.deepEqual(empty.entries, []);
  t.is(empty.totalFactsAvailable, 0);
  await tellOk(c, { predicate: 'p', args: [1] });
  t.deepEqual((await optimize(c, { scope: 'nowhere' })).entries, []);
});

test('POST /context/* › bad input is a 400', async (t) => {
  const c = client(t);
  assertError(t, await api(t.context.server.url).post('/context/optimize', {}), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { maxFacts: 0 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { maxFacts: 1001 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { sessionId: 'has space' }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { sessionId: 'x'.repeat(129) }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { unknownField: 1 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { goals: [{ predicate: 'p', args: ['?bad-name'] }] }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/diff', { maxFacts: 5 }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/session/clear', {}), 400, 'VALIDATION_ERROR');
  t.is((await c.post('/context/optimize', { sessionId: 'a-Z_0.9:x' })).status, 200);
});

test('POST /context/optimize › a repeated window sees facts expire and rules change (nothing stale is reused)', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'customer', args: ['acme'] }, { predicate: 'brief', args: ['b'], ttl: 2000 }] });
  const body = { goals: [{ predicate: 'vip', args: ['?c'] }] };
  t.deepEqual((await optimize(c, body)).entries.map(label).sort(), ['brief(b)', 'customer(acme)']);
  await c.post('/rules', { text: 'vip(?c) :- customer(?c).' });
  const withRule = await optimize(c, body);
  t.deepEqual(withRule.entries.map(label), ['vip(acme)', 'customer(acme)', 'brief(b)']);
  await sleep(2100);
  t.deepEqual((await optimize(c, body)).entries.map(label), ['vip(acme)', 'customer(acme)']);
});
