import test from 'ava';
import { CorruptionError } from '../../src/domain/errors.js';
import { decodeEntryValue, encodeTombstone, encodeRecord } from '../../src/encoding/records.js';

const record = { version: 2, createdAt: 1, updatedAt: 2, confidence: 0.5, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata: { a: 1 } };

test('encodeRecord › format 2 › a plain record is compact, and every kind of record reads back equal', (t) => {
  const plain = { version: 1, createdAt: 1795706541863, updatedAt: 1795706541863, confidence: 1, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata: null };
  t.is(encodeRecord(plain), 'c1,mwxpb7dz');
  const variants = [
    plain,
    { ...plain, version: 37, updatedAt: plain.updatedAt + 5, confidence: 0.125 },
    { ...plain, ttl: 60_000, expiresAt: plain.createdAt + 60_000 },
    { ...plain, validFrom: -5.5, validUntil: 1e21 },
    { ...plain, metadata: { note: 'a, b', nested: { x: [1, ','] } } },
    { ...plain, validUntil: 3, metadata: {} },
    { ...plain, createdAt: 1.5, updatedAt: -2 }, // not integer times: the format-1 JSON form
  ];
  for (const r of variants) t.deepEqual(decodeEntryValue(encodeRecord(r)), { kind: 'record', record: r }, encodeRecord(r));
  t.is(encodeRecord(variants[6] as typeof plain)[0], 'r');
});

test('decodeEntryValue › a record it wrote › reads it back', (t) => {
  t.deepEqual(decodeEntryValue(encodeRecord(record)), { kind: 'record', record });
  t.deepEqual(decodeEntryValue('t'), { kind: 'tombstone', at: 0 }, 'a format-2 tombstone: written at an unknown time');
  t.deepEqual(decodeEntryValue(encodeTombstone(1_790_000_000_123)), { kind: 'tombstone', at: 1_790_000_000_123 });
  t.throws(() => decodeEntryValue('t1,2'), { instanceOf: CorruptionError });
});

for (const [name, raw] of [
  ['not JSON', 'r[1,2'],
  ['not an array', 'r{"version":1}'],
  ['too short', 'r[1,2]'],
  ['a string where a time goes', 'r[1,"x",2,1]'],
  ['version 0', 'r[0,1,2,1]'],
  ['metadata that is an array', 'r[1,1,2,1,null,null,null,null,[1]]'],
  ['an unknown tag', 'x[1,1,2,1]'],
  ['nothing', ''],
  ['compact: no createdAt', 'c1'],
  ['compact: a time not in base 36', 'c1,MH3'],
  ['compact: version 0', 'c0,mh3'],
  ['compact: a confidence that is not a number', 'c1,mh3,,x'],
  ['compact: metadata that is not JSON', 'c1,mh3,,,,,,,{'],
  ['compact: metadata that is an array', 'c1,mh3,,,,,,,[1]'],
] as const) {
  test(`decodeEntryValue › ${name} › is a CorruptionError naming the key`, (t) => {
    const error = t.throws(() => decodeEntryValue(raw, 'X\0p'), { instanceOf: CorruptionError });
    t.is(error?.code, 'DATA_CORRUPTED');
    t.deepEqual(error?.details, { key: 'X\0p' });
  });
}
