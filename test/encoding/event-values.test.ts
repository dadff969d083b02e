// Packed fact events (format 2): what is packed reads back equal; a malformed packed list is reported, not guessed at.
import test from 'ava';
import { encodeEventValue, unpackEventValue } from '../../src/encoding/event-values.js';

const event = {
  op: 'told',
  actor: 'k1',
  target: 'p,q',
  outcome: 'ok',
  scope: null,
  details: {
    count: 3,
    facts: [
      { predicate: 'p', args: ['a', 1, true, null], negated: false, scope: 'main', version: 1 },
      { predicate: 'q', args: [], negated: true, scope: 'side', version: 7 },
      { predicate: 'p', args: ['b\u0000c'], negated: false, scope: 'side', version: 2 },
    ],
  },
  seq: 9,
  time: 1000,
};

test('event values › a fact event › is stored packed and unpacks to the same event', (t) => {
  const raw = encodeEventValue(event);
  t.false(raw.includes('"predicate"'));
  t.true(raw.length < JSON.stringify(event).length);
  t.deepEqual(unpackEventValue(JSON.parse(raw)), event);
});

test('event values › an event without facts (or a format-1 event) › is stored and read as it is', (t) => {
  const other = { op: 'scope_forked', actor: null, target: 'f', outcome: 'ok', seq: 1, time: 2 };
  t.is(encodeEventValue(other), JSON.stringify(other));
  t.deepEqual(unpackEventValue(JSON.parse(JSON.stringify(event))), event);
});

test('event values › a malformed packed list › unpacks to undefined (the reader reports corruption)', (t) => {
  for (const packed of [{ p: ['p'], s: ['main'], f: [[3, 0, 1, 0]] }, { p: ['p'], s: ['main'], f: [[0, 0, 1, 2]] }, { p: 'p', s: [], f: [] }]) {
    t.is(unpackEventValue({ op: 'told', details: { count: 1, packed } }), undefined);
  }
});
