// The tokeniser that both the index and the queries use.
import test from 'ava';
import { documentOf, tokenize } from '../../src/domain/tokens.js';

test('tokenize › identifiers › split at _, -, camelCase, acronyms and letter/digit boundaries', (t) => {
  t.deepEqual(tokenize('billing_outage'), ['bill', 'outag']);
  t.deepEqual(tokenize('billing-outage'), ['bill', 'outag']);
  t.deepEqual(tokenize('billingOutage'), ['bill', 'outag']);
  t.deepEqual(tokenize('BillingOutage'), ['bill', 'outag']);
  t.deepEqual(tokenize('user-42'), ['user', '42']);
  t.deepEqual(tokenize('HTTPServer'), ['http', 'server']);
  t.deepEqual(tokenize('inc42'), ['inc', '42']);
});

test('tokenize › questions › stop words and one-letter words dropped, word forms stemmed alike', (t) => {
  t.deepEqual(tokenize('What do we know about the billing outages?'), tokenize('billing outage'));
  t.deepEqual(tokenize('a b c'), []);
  t.deepEqual(tokenize('Ünïcode Straße'), ['ünïcode', 'straße']);
});

test('documentOf › predicate, string args and nested string metadata values › term frequencies and length', (t) => {
  const doc = documentOf({ predicate: 'incident', args: ['inc-7', 42, 'billing outage'], negated: false }, { summary: 'billing failed', tags: ['urgent'], n: 3 });
  t.deepEqual(Object.fromEntries(doc.terms), { incid: 1, inc: 1, '7': 1, bill: 2, outag: 1, fail: 1, urgent: 1 });
  t.is(doc.length, 8);
});

test('tokenize › calls one after another › share no state (the word pattern is reused between calls)', (t) => {
  const long = 'incident review: billingOutage in eu-west, 42 customers';
  const alone = tokenize('billing outage');
  // A call that stopped in the middle of a text must not make the next one start there.
  t.throws(() => tokenize(Symbol('not text') as unknown as string));
  t.deepEqual(tokenize(long), ['incid', 'review', 'bill', 'outag', 'eu', 'west', '42', 'custom']);
  t.deepEqual(tokenize('billing outage'), alone);
  t.deepEqual(tokenize('x'.repeat(3) + ' ' + long).slice(1), tokenize(long));
});
