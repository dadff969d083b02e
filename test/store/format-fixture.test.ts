// The committed format-1 database opens and answers; corrupt stored bytes are a DATA_CORRUPTED error, never a TypeError.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { ClassicLevel } from 'classic-level';
import { type TestServer, api, startTestServer } from '../helpers/server.js';
import { ON_LEVELDB } from '../helpers/backend.js';
import { FORMAT_VERSION } from '../../src/encoding/records.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/format-1', import.meta.url));
const test = anyTest as TestFn<{ dirs: string[] }>;
// LevelDB only: the fixture is a committed LevelDB directory of format 1.
const levelDbTest = ON_LEVELDB ? test : test.skip;

test.beforeEach((t) => {
  t.context.dirs = [];
});
test.afterEach.always(async (t) => {
  for (const dir of t.context.dirs) await rm(dir, { recursive: true, force: true });
});

/** A copy of the fixture (LevelDB writes to a directory it opens), optionally changed before the server starts. */
async function copyOfFixture(t: { context: { dirs: string[] } }, change?: (level: ClassicLevel<string, string>) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-format1-'));
  t.context.dirs.push(dir);
  await cp(FIXTURE, dir, { recursive: true, filter: (source) => !source.endsWith('README.md') });
  if (change) {
    const level = new ClassicLevel<string, string>(join(dir, 'default'));
    await change(level);
    await level.close();
  }
  return dir;
}

async function withServer<T>(dataDir: string, work: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startTestServer({}, { dataDir });
  try {
    return await work(server);
  } finally {
    await server.close({ keepData: true });
  }
}

levelDbTest('format 1 fixture › opened by this server › answers facts, scopes, rules, events and sessions as written', async (t) => {
  const dataDir = await copyOfFixture(t);
  await withServer(dataDir, async (server) => {
    const acme = api(server.url, { 'X-Tenant-ID': 'acme' });
    const plan = await acme.post('/ask', { predicate: 'plan', args: ['acme', '?tier'], scope: 'main' });
    t.deepEqual(plan.json.results.map((r: { bindings: unknown }) => r.bindings), [{ tier: 'enterprise' }]);
    const seats = await acme.post('/ask', { predicate: 'seats', args: ['acme', '?n'], scope: 'main' });
    t.is(seats.json.results[0].args[1], 120);
    t.is(seats.json.results[0].confidence, 0.9);
    t.deepEqual(seats.json.results[0].metadata, { source: 'crm' });
    const hypothesis = await acme.post('/ask', { predicate: 'seats', args: ['acme', '?n'], scope: 'hypothesis' });
    t.deepEqual(hypothesis.json.results.map((r: { args: unknown[] }) => r.args[1]).sort(), [120, 150]);
    const reach = await acme.post('/ask', { predicate: 'reach', args: ['a', '?y'], scope: 'hypothesis' });
    t.deepEqual(reach.json.results.map((r: { bindings: { y: string } }) => r.bindings.y).sort(), ['b', 'c']);
    const flag = await acme.post('/ask', { predicate: 'flag', args: ['?a', '?b', '?c'], scope: 'main' });
    t.deepEqual(flag.json.results[0].args, [true, null, 3.5]);
    const churned = await acme.post('/ask', { predicate: 'churned', args: ['acme'], negated: true, scope: 'main' });
    t.is(churned.json.results.length, 1);
    const scopes = await acme.get('/scopes');
    t.deepEqual(scopes.json.scopes, ['hypothesis', 'main']);
    const audit = await acme.get('/audit');
    const seqs: number[] = audit.json.events.map((e: { seq: number }) => e.seq);
    t.true(seqs.length >= 5);
    const told = await acme.post('/tell', { predicate: 'plan', args: ['acme', 'enterprise'] });
    t.is(told.status, 200);
    const after = await acme.get('/audit');
    t.is(Math.max(...after.json.events.map((e: { seq: number }) => e.seq)), Math.max(...seqs) + 1, 'event numbers continue above the stored ones');
    const diff = await acme.post('/context/diff', { sessionId: 'thread-1', maxFacts: 5 });
    t.is(diff.status, 200, 'the stored session record decodes (it may have expired since the fixture was written)');
  });
});

levelDbTest('format 1 fixture › migrated to format 2 › old events read as written, new fact events are stored packed and read back whole', async (t) => {
  const dataDir = await copyOfFixture(t);
  const oldTold = await withServer(dataDir, async (server) => {
    const acme = api(server.url, { 'X-Tenant-ID': 'acme' });
    const before = (await acme.get('/audit?limit=100')).json.events as { op: string; details?: { facts?: unknown[] } }[];
    const first = before.find((e) => e.op === 'told');
    await acme.post('/tell', { facts: [{ predicate: 'plan', args: ['globex', 'pro'] }, { predicate: 'flag', args: [false, null, -1.5], negated: true, scope: 'hypothesis' }] });
    return first;
  });
  t.truthy(oldTold?.details?.facts?.length, 'a format-1 told event lists its facts');
  const level = new ClassicLevel<string, string>(join(dataDir, 'default'));
  await level.open();
  const meta = level.sublevel<string, string>('~meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  t.is(await meta.get('format-version'), String(FORMAT_VERSION), 'the database was migrated');
  const events = await level.sublevel<string, string>('acme', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).iterator({ gt: 'E\0', lt: 'E\x01' }).all();
  const [, newest] = events.at(-1) as [string, string];
  await level.close();
  t.false(newest.includes('"facts"'), 'stored packed');
  t.true(newest.includes('"packed"'));
  await withServer(dataDir, async (server) => {
    const acme = api(server.url, { 'X-Tenant-ID': 'acme' });
    const after = (await acme.get('/audit?limit=100')).json.events as { op: string; details?: { count: number; facts?: unknown[] } }[];
    t.deepEqual(after.find((e) => e.op === 'told'), oldTold, 'the format-1 event reads as before');
    t.deepEqual(after.at(-1)?.details, {
      count: 2,
      facts: [
        { predicate: 'plan', args: ['globex', 'pro'], negated: false, scope: 'main', version: 1 },
        { predicate: 'flag', args: [false, null, -1.5], negated: true, scope: 'hypothesis', version: 1 },
      ],
    });
  });
});

levelDbTest('format 1 fixture › a fact record with corrupt bytes › ask is a DATA_CORRUPTED error naming the key, not a TypeError', async (t) => {
  let corrupted = '';
  const dataDir = await copyOfFixture(t, async (level) => {
    for await (const [key, value] of level.iterator({ gte: '!acme!X', lt: '!acme!Y' })) {
      if (key.includes('plan') && value.startsWith('r')) {
        await level.put(key, 'r[1,"not a time"]');
        corrupted = key.slice('!acme!'.length);
      }
    }
  });
  t.not(corrupted, '');
  await withServer(dataDir, async (server) => {
    const reply = await api(server.url, { 'X-Tenant-ID': 'acme' }).post('/ask', { predicate: 'plan', args: ['acme', '?tier'] });
    t.is(reply.status, 500);
    t.is(reply.json.code, 'DATA_CORRUPTED');
    t.is(reply.json.type, 'DataCorruptedException');
    t.true(typeof reply.json.details.key === 'string' && reply.json.details.key.includes('plan'));
  });
});

levelDbTest('format 1 fixture › a scope record that is not JSON › reads are DATA_CORRUPTED, not a 500 TypeError', async (t) => {
  const dataDir = await copyOfFixture(t, async (level) => {
    for await (const [key] of level.iterator({ gte: '!acme!S', lt: '!acme!T' })) await level.put(key, '{"name": 3');
  });
  await withServer(dataDir, async (server) => {
    const reply = await api(server.url, { 'X-Tenant-ID': 'acme' }).get('/scopes');
    t.is(reply.status, 500);
    t.is(reply.json.code, 'DATA_CORRUPTED');
  });
});
