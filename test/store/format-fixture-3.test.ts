// The committed format-3 database (dated tombstones, history keys, a fork at a past moment) opens and answers as written.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { ON_LEVELDB } from '../helpers/backend.js';
import { api, startTestServer } from '../helpers/server.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/format-3', import.meta.url));
// A directory of LevelDB files: what it tests is the embedded format, not a backend.
const levelDbTest = ON_LEVELDB ? test : test.skip;

levelDbTest('format 3 fixture › opened by this server › history, asOf, the root tombstone and the past fork answer as written', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-format3-'));
  try {
    await cp(FIXTURE, dataDir, { recursive: true, filter: (source) => !source.endsWith('README.md') });
    const level = new ClassicLevel<string, string>(join(dataDir, 'default'));
    const raw = await level.iterator().all();
    await level.close();
    t.true(raw.some(([key]) => key.startsWith('!acme!H\x00')), 'history keys');
    t.true(raw.some(([key, value]) => key.startsWith('!acme!X\x00seats') && /^t[0-9a-z]+$/.test(value)), 'a dated tombstone in the root layer');
    const server = await startTestServer({}, { dataDir });
    try {
      const acme = api(server.url, { 'X-Tenant-ID': 'acme' });
      const plan = (await acme.get('/history?predicate=plan')).json.versions;
      t.deepEqual(plan.map((v: { op: string; version: number }) => [v.op, v.version]), [['updated', 2], ['told', 1]]);
      t.like(plan[1], { metadata: { source: 'crm' }, confidence: 1 });
      const seats = (await acme.get('/history?predicate=seats')).json.versions;
      t.deepEqual(seats.map((v: { op: string; args: unknown[] }) => [v.op, v.args[1]]), [['told', 25], ['retracted', 10], ['told', 10]]);
      const firstTell = plan[1].time as number;
      const ask = async (body: Record<string, unknown>) => (await acme.post('/ask', body)).json.results.map((r: { args: unknown[]; confidence: number }) => [r.args[1], r.confidence]);
      t.deepEqual(await ask({ predicate: 'plan', args: ['acme', '?t'], scope: 'main' }), [['pro', 0.6]]);
      t.deepEqual(await ask({ predicate: 'plan', args: ['acme', '?t'], scope: 'main', asOf: firstTell }), [['pro', 1]]);
      t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'main' }), [[25, 1]]);
      t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'main', asOf: firstTell }), [[10, 1]]);
      t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'main', asOf: seats[1].time }), []);
      // The fork made at a moment just after the first tell reads main as it stood then.
      t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'then' }), [[10, 1]]);
      t.deepEqual(await ask({ predicate: 'plan', args: ['acme', '?t'], scope: 'then' }), [['pro', 1]]);
    } finally {
      await server.close({ keepData: true });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
