import test from 'ava';
import { CorruptionError } from '../../src/domain/errors.js';
import { decodeEntryValue, encodeRecord } from '../../src/encoding/records.js';

const record = { version: 2, createdAt: 1, updatedAt: 2, confidence: 0.5, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata: { a: 1 } };

test('decodeEntryValue › a record it wrote › reads it back', (t) => {
  t.deepEqual(decodeEntryValue(encodeRecord(record)), { kind: 'record', record });
  t.deepEqual(decodeEntryValue('t'), { kind: 'tombstone' });
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
] as const) {
  test(`decodeEntryValue › ${name} › is a CorruptionError naming the key`, (t) => {
    const error = t.throws(() => decodeEntryValue(raw, 'X\0p'), { instanceOf: CorruptionError });
    t.is(error?.code, 'DATA_CORRUPTED');
    t.deepEqual(error?.details, { key: 'X\0p' });
  });
}
