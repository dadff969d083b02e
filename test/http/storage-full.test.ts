// A full disk is an answer (issue 12, found-item 8): writes get 507 STORAGE_FULL with nothing
// partial, reads keep working, /ready and /metrics say so, writes resume by themselves once space
// is freed, and a start on a full disk says so in one log line. The disk is simulated by a
// LevelDB whose writes fail the way LevelDB reports ENOSPC, and a free-space probe we control.
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { type Logger, pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer, type StorageOverrides } from '../../src/server.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { ON_LEVELDB } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { askAll, eventually } from '../helpers/facts.js';
import { api, makeDataDir, startTestServer, tenantApi } from '../helpers/server.js';

/** The simulated disk: when full, every LevelDB write fails with LevelDB's ENOSPC message and statfs reports 0 bytes free. */
class Disk {
  full = false;
  refused = 0;
  readonly storage: StorageOverrides = {
    openLevel: (location, options) => {
      const level = new ClassicLevel<string, string>(location, options);
      level.hooks.prewrite.add(() => {
        if (!this.full) return;
        this.refused++;
        throw new Error(`IO error: ${location}/000005.log: No space left on device`);
      });
      return level as unknown as LevelDb;
    },
    freeBytes: async () => (this.full ? 0 : 10 * 1024 * 1024 * 1024),
  };
}

// LevelDB only: the full disk is simulated inside LevelDB and its statfs probe (the PostgreSQL
// server's disk_full is tested in test/backends/pg-server.test.ts).
const levelDbTest = ON_LEVELDB ? test : test.skip;

const facts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ predicate: 'reading', args: [tag, i] }));

levelDbTest('storage full › writes › 507 STORAGE_FULL with nothing partial; reads keep working; /ready and /metrics say so; writes resume once space is freed', async (t) => {
  const disk = new Disk();
  const server = await startTestServer({}, { storage: disk.storage });
  t.teardown(() => server.close());
  const acme = tenantApi(server.url, 'acme', 'production');
  t.is((await acme.post('/tell', { facts: facts(3, 'before') })).status, 200);

  disk.full = true;
  const refused = await acme.post('/tell', { facts: facts(100, 'during') });
  assertError(t, refused, 507, 'STORAGE_FULL');
  t.is(refused.json.details.database, 'production');
  assertError(t, await acme.post('/tell', { predicate: 'single', args: [1] }), 507, 'STORAGE_FULL');
  assertError(t, await api(server.url).post('/databases', { name: 'brand_new' }), 507, 'STORAGE_FULL');
  t.is((await acme.post('/ask', { predicate: 'reading', args: ['?t', '?i'] })).json.results.length, 3, 'reads work, and nothing of the refused batch is there');

  const ready = await api(server.url).get('/ready');
  t.is(ready.status, 200);
  t.deepEqual(ready.json, { ready: true, storage: 'full' });
  t.regex((await api(server.url).get('/metrics')).text, /^vesper_storage_full 1$/m);

  disk.full = false;
  t.true(await eventually(async () => (await acme.post('/tell', { facts: facts(10, 'after') })).status === 200, 5000, 100), 'writes resume by themselves');
  const stored = await askAll(acme, { predicate: 'reading', args: ['?t', '?i'] });
  t.deepEqual([...new Set(stored.map((f) => f.args[0]))].sort(), ['after', 'before']);
  t.is(stored.length, 13);
  t.deepEqual((await api(server.url).get('/ready')).json, { ready: true, storage: 'ok' });
  t.regex((await api(server.url).get('/metrics')).text, /^vesper_storage_full 0$/m);
  t.true(disk.refused > 0);
});

function capture(): { logger: Logger; lines: () => Array<{ level: number; msg: string }> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.map((l) => JSON.parse(l)) };
}

levelDbTest('storage full › at start › a data directory that cannot be written is one fatal log line and a STORAGE_FULL error, no stack trace', async (t) => {
  const disk = new Disk();
  disk.full = true;
  const dataDir = await makeDataDir();
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const { logger, lines } = capture();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info' });
  const error = await t.throwsAsync(startServer(config, logger, disk.storage));
  t.is((error as { code?: string }).code, 'STORAGE_FULL');
  const fatal = lines().filter((l) => l.level >= 50);
  t.is(fatal.length, 1, JSON.stringify(lines()));
  t.regex(fatal[0]?.msg ?? '', /disk of the data directory is full/);
});

levelDbTest('storage full › at start › over existing data the server starts, says so in one line, and serves reads', async (t) => {
  const dataDir = await makeDataDir();
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await startTestServer({}, { dataDir });
  t.is((await tenantApi(first.url, 'acme').post('/tell', { facts: facts(5, 'kept') })).status, 200);
  await first.close({ keepData: true });

  const disk = new Disk();
  disk.full = true;
  const { logger, lines } = capture();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'info' });
  const server = await startServer(config, logger, disk.storage);
  t.teardown(() => server.close());
  const errors = lines().filter((l) => l.level >= 50);
  t.is(errors.length, 1);
  t.regex(errors[0]?.msg ?? '', /disk of the data directory is full/);
  t.is((await tenantApi(server.url, 'acme').post('/ask', { predicate: 'reading', args: ['?t', '?i'] })).json.results.length, 5);
  assertError(t, await tenantApi(server.url, 'acme').post('/tell', { predicate: 'p' }), 507, 'STORAGE_FULL');
});
