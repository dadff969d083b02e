// The offline consistency check (store/check.ts): clean on what the store writes, and each kind of damage reported.
import test from 'ava';
import { eventSeqKey, layerCountKey } from '../../src/encoding/control-keys.js';
import { indexKeysOf, listingKeyOf } from '../../src/encoding/fact-keys.js';
import { RETRIEVAL_MARKER_KEY, documentKey, encodeDocument, encodeVector, layerStatsKey, postingKey, vectorKey } from '../../src/encoding/retrieval-keys.js';
import { forkScope } from '../../src/scopes/lifecycle.js';
import { checkDatabase } from '../../src/store/check.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { fact, memoryCatalog } from './support.js';

/** A tenant 't' with facts of arity 1-3 in main, a fork with its own writes, a tombstone and a root delete. */
async function populated(): Promise<{ level: LevelDb; close: () => Promise<void> }> {
  const store = await memoryCatalog();
  const lease = await store.catalog.forWrite('default');
  const tenant = lease.database.tenant('t');
  const now = Date.now();
  await tenant.tell([fact('p', 'a'), fact('p', 'b'), fact('e', 'a', 'b'), fact('r', 'a', 'b', 3), fact('gone', 'x'), fact('note', 'billing outage')], now);
  await tenant.retract('main', { predicate: 'gone', args: ['x'], negated: false }, now);
  await tenant.transaction(now, async (tx) => void forkScope(tx.scopes, 'main', 'h', now));
  await tenant.tell([{ ...fact('p', 'c'), scope: 'h' }, { ...fact('e', 'b', 'c'), scope: 'h' }], now);
  await tenant.retract('h', { predicate: 'p', args: ['a'], negated: false }, now);
  await tenant.tell([fact('p', 'd')], now);
  const level = store.levels.get('default');
  if (!level) throw new Error('no level for the default database');
  return { level, close: () => store.catalog.close() };
}

const check = (level: LevelDb) => checkDatabase('default', level);
const kinds = (problems: readonly { kind: string }[]) => problems.map((p) => p.kind);

test('check › what the store writes (facts of every arity, a fork, tombstones, retracts) is clean', async (t) => {
  const { level, close } = await populated();
  const report = await check(level);
  t.deepEqual(report.problems, []);
  t.is(report.tenants, 1);
  t.true(report.entries >= 8);
  await close();
});

test('check › a deleted index entry (one argument position of a fact) is reported', async (t) => {
  const { level, close } = await populated();
  const [, second] = indexKeysOf({ predicate: 'r', args: ['a', 'b', 3], negated: false }, 0);
  t.truthy(await level.get('!t!' + second), 'the entry exists before it is broken');
  await level.del('!t!' + second);
  const report = await check(level);
  t.deepEqual(kinds(report.problems), ['index entry missing']);
  t.regex(report.problems[0]?.detail ?? '', /r\("a", "b", 3\) in layer 0: 1 of 3/);
  await close();
});

test('check › index entries of one fact holding different records are reported', async (t) => {
  const { level, close } = await populated();
  const [, second] = indexKeysOf({ predicate: 'e', args: ['a', 'b'], negated: false }, 0);
  await level.put('!t!' + second, 'r[7,1,1,1]');
  t.deepEqual(kinds((await check(level)).problems), ['index entries disagree']);
  await close();
});

test('check › a scope count that disagrees with the index, and an event counter behind the log, are reported', async (t) => {
  const { level, close } = await populated();
  await level.put('!t!' + layerCountKey(0), '99');
  await level.put('!~meta!' + eventSeqKey('t'), '1');
  // Layer 0 is under both main and h: both counts are off.
  t.deepEqual(kinds((await check(level)).problems).sort(), ['event counter behind', 'scope count mismatch', 'scope count mismatch']);
  await close();
});

test('check › keys of a layer no scope uses, and a listing entry without its fact, are reported', async (t) => {
  const { level, close } = await populated();
  for (const key of indexKeysOf({ predicate: 'p', args: ['z'], negated: false }, 40)) await level.put('!t!' + key, 'r[1,1,1,1]');
  await level.put('!t!' + listingKeyOf({ predicate: 'q', args: ['zz'], negated: false }, 2), ''); // layer 2: h's top
  const report = await check(level);
  // The injected fact has no retrieval document either.
  t.deepEqual(kinds(report.problems).sort(), ['listing without index entry', 'retrieval document missing', 'unreferenced layer keys']);
  await close();
});

test('check › retrieval indexes: a lost posting, a stray document, a wrong statistic and a vector without its document are each reported', async (t) => {
  const { level, close } = await populated();
  t.truthy(await level.get('!t!' + RETRIEVAL_MARKER_KEY), 'the tenant is fully indexed, so its retrieval keys are compared');
  const posting = postingKey('bill', { predicate: 'note', args: ['billing outage'], negated: false }, 0);
  t.truthy(await level.get('!t!' + posting), 'the posting exists before it is broken');
  await level.del('!t!' + posting);
  await level.put('!t!' + documentKey({ predicate: 'q', args: ['never'], negated: false }, 0), encodeDocument({ terms: { q: 1 }, length: 1 }));
  await level.put('!t!' + layerStatsKey(0), '1 1');
  await level.put('!t!' + vectorKey({ predicate: 'v', args: ['none'], negated: false }, 0), encodeVector(new Float32Array([1, 0])));
  const report = await check(level);
  t.deepEqual(kinds(report.problems).sort(), ['embedding without document', 'retrieval document without fact', 'retrieval posting missing', 'retrieval statistics differ']);
  await close();
});
