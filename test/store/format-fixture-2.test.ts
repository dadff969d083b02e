// The committed format-2 database (compact records, packed fact events) opens and answers as written.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { ON_LEVELDB } from '../helpers/backend.js';
import { api, startTestServer } from '../helpers/server.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/format-2', import.meta.url));
// A directory of LevelDB files: what it tests is the embedded format, not a backend.
const levelDbTest = ON_LEVELDB ? test : test.skip;

levelDbTest('format 2 fixture › opened by this server › answers facts, records, scopes, rules, events and sessions as written', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-format2-'));
  try {
    await cp(FIXTURE, dataDir, { recursive: true, filter: (source) => !source.endsWith('README.md') });
    // The fixture holds what format 2 writes: compact records and packed events.
    const level = new ClassicLevel<string, string>(join(dataDir, 'default'));
    const raw = await level.iterator().all();
    await level.close();
    t.true(raw.some(([key, value]) => key.startsWith('!acme!X') && value.startsWith('c1,')), 'compact records');
    t.true(raw.some(([key, value]) => key.startsWith('!acme!E') && value.includes('"packed"')), 'packed events');
    const server = await startTestServer({}, { dataDir });
    try {
      const acme = api(server.url, { 'X-Tenant-ID': 'acme' });
      const plan = (await acme.post('/ask', { predicate: 'plan', args: ['acme', '?tier'], scope: 'main' })).json.results;
      t.like(plan[0], { bindings: { tier: 'enterprise' }, version: 2, confidence: 0.8 });
      t.true(plan[0].updatedAt >= plan[0].createdAt);
      const seats = (await acme.post('/ask', { predicate: 'seats', args: ['acme', '?n'], scope: 'main' })).json.results;
      t.like(seats[0], { args: ['acme', 120], confidence: 0.9, metadata: { source: 'crm, import' }, ttl: null });
      const trial = (await acme.post('/ask', { predicate: 'trial', args: ['acme'], scope: 'main' })).json.results;
      t.is(trial[0].ttl, 3_600_000_000);
      t.is(trial[0].expiresAt, trial[0].createdAt + 3_600_000_000);
      const hypothesis = (await acme.post('/ask', { predicate: 'seats', args: ['acme', '?n'], scope: 'hypothesis' })).json.results;
      t.deepEqual(hypothesis.map((r: { args: unknown[] }) => r.args[1]).sort(), [120, 150]);
      const reach = (await acme.post('/ask', { predicate: 'reach', args: ['a', '?y'], scope: 'hypothesis' })).json.results;
      t.deepEqual(reach.map((r: { bindings: { y: string } }) => r.bindings.y).sort(), ['b', 'c']);
      t.deepEqual((await acme.post('/ask', { predicate: 'flag', args: ['?a', '?b', '?c'], scope: 'main' })).json.results[0].args, [true, null, 3.5]);
      t.is((await acme.post('/ask', { predicate: 'churned', args: ['acme'], negated: true, scope: 'main' })).json.results.length, 1);
      const events = (await acme.get('/audit?limit=100')).json.events as { op: string; details?: { count?: number; facts?: { predicate: string }[] } }[];
      const firstTell = events.find((e) => e.op === 'told');
      t.is(firstTell?.details?.count, 8);
      t.deepEqual(firstTell?.details?.facts?.map((f) => f.predicate), ['plan', 'seats', 'edge', 'edge', 'edge', 'churned', 'flag', 'trial']);
      t.is((await acme.post('/context/diff', { sessionId: 'thread-1', maxFacts: 5 })).status, 200);
      // Migrated to format 3: facts written before it have no history, and a read as of now answers as a read of now.
      t.deepEqual((await acme.get('/history?predicate=plan')).json.versions, []);
      const now = (await acme.post('/ask', { predicate: 'seats', args: ['acme', '?n'], scope: 'hypothesis', asOf: Date.now() })).json.results;
      t.deepEqual(now.map((r: { args: unknown[] }) => r.args[1]).sort(), [120, 150]);
      const edges = (await acme.post('/ask', { predicate: 'edge', args: ['?a', '?b'], scope: 'hypothesis', asOf: Date.now() })).json.results;
      t.is(edges.length, 2, 'the format-2 tombstone (no time) still hides its fact');
    } finally {
      await server.close({ keepData: true });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
