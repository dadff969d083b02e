/**
 * An import that dies midway (kill -9 of the server while its chunks commit) leaves nothing behind:
 * after the restart a raw scan finds no key of the tenant, no registration and no marker, the other
 * tenants are untouched, and a new import answers as the source.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import type { LevelDb } from '../../src/store/level-types.js';
import { ON_LEVELDB, dropBackendData, openRawLevel } from '../helpers/backend.js';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { tellOk } from '../helpers/facts.js';
import { exportOf, keysNaming, rawTenant, seedSource, startImport } from '../helpers/import.js';
import { api, tenantApi } from '../helpers/server.js';

const SOURCE = 'source';
const TARGET = 'target';
const BYSTANDER = 'bystander';
/** Context sessions of the source: enough (10 units each in a chunk of 2,000) that some commit before the end line. */
const SESSIONS = 220;

/**
 * The committed state of the running server's database, read without stopping it: on LevelDB a copy
 * of its directory (a running LevelDB holds its lock), on PostgreSQL its table.
 */
async function whileRunning<T>(dataDir: string, read: (level: LevelDb) => Promise<T>): Promise<T> {
  if (!ON_LEVELDB) {
    const raw = await openRawLevel(dataDir, 'default');
    try {
      return await read(raw.level);
    } finally {
      await raw.close();
    }
  }
  const copy = await mkdtemp(join(tmpdir(), 'vesper-import-copy-'));
  try {
    await cp(join(dataDir, 'default'), copy, { recursive: true });
    await rm(join(copy, 'LOCK'), { force: true });
    const level = new ClassicLevel<string, string>(copy);
    await level.open();
    try {
      return await read(level as unknown as LevelDb);
    } finally {
      await level.close();
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

async function stop(server: ChildServer, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  server.kill(signal);
  await server.exited;
}

test('import › the server is killed while the chunks commit › after the restart no trace of the import, other tenants untouched, a new import answers as the source', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-import-crash-'));
  t.teardown(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await dropBackendData(dataDir);
  });
  const env = { VESPER_RATE_LIMIT: '0' };
  let server = await spawnServer(dataDir, env);
  try {
    await seedSource(server.url, SOURCE, SESSIONS);
    await tellOk(tenantApi(server.url, BYSTANDER), { facts: [{ predicate: 'kept', args: [1] }, { predicate: 'kept', args: [2] }] });
    const text = await exportOf(server.url, SOURCE);
    const lines = text.trim().split('\n');
    t.like(JSON.parse(lines.at(-1) as string), { kind: 'end', sessions: SESSIONS });

    // Everything but the end line: the import commits its chunks (sessions among them) and waits for the rest.
    const importing = startImport(server.url, TARGET, `${lines.slice(0, -1).join('\n')}\n`);
    let seen = { keys: 0, sessions: 0 };
    for (let tries = 0; seen.sessions === 0; tries++) {
      if (tries > 600) throw new Error('the import never committed its sessions');
      seen = await whileRunning(dataDir, async (level) => {
        const raw = await rawTenant(level, TARGET).catch(() => ({ keys: [], sessions: 0 }));
        return { keys: raw.keys.length, sessions: raw.sessions };
      }).catch(() => ({ keys: 0, sessions: 0 })); // a file compacted away while copied: look again
      if (seen.sessions === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop(server, 'SIGKILL');
    importing.abandon();
  } catch (error) {
    await stop(server, 'SIGKILL');
    throw error;
  }

  const before = await openRawLevel(dataDir, 'default');
  let bystander: [string, string][];
  try {
    const crashed = await rawTenant(before.level, TARGET);
    t.true(crashed.keys.length > 1_000, `the crash left keys of the import (${crashed.keys.length})`);
    t.true(crashed.sessions > 0, 'the crash left sessions of the import');
    bystander = (await rawTenant(before.level, BYSTANDER)).keys;
  } finally {
    await before.close();
  }

  server = await spawnServer(dataDir, env);
  try {
    const tenants = (await api(server.url).get('/admin/databases/default/tenants')).json.tenants.map((x: { name: string }) => x.name);
    t.deepEqual(tenants.sort(), [BYSTANDER, SOURCE], 'the tenant the import made is gone');
  } finally {
    await stop(server, 'SIGTERM');
  }
  const after = await openRawLevel(dataDir, 'default');
  try {
    t.deepEqual(await keysNaming(after.level, TARGET), [], 'no raw key names the tenant of the failed import');
    t.deepEqual((await rawTenant(after.level, BYSTANDER)).keys, bystander, 'the other tenant is untouched');
  } finally {
    await after.close();
  }

  server = await spawnServer(dataDir, env);
  try {
    const text = await exportOf(server.url, SOURCE);
    const reply = await fetch(`${server.url}/admin/databases/default/tenants/${TARGET}/import`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: text });
    t.is(reply.status, 201, await reply.clone().text());
    const end = JSON.parse(text.trim().split('\n').at(-1) as string);
    t.like(((await reply.json()) as { imported: object }).imported, { facts: end.facts, sessions: SESSIONS, accessCounts: end.accessCounts });
    const [a, b] = [tenantApi(server.url, SOURCE), tenantApi(server.url, TARGET)];
    for (const scope of ['main', 'alt', null]) {
      for (const body of [{ predicate: 'item', args: ['?i', '?g'] }, { predicate: 'group', args: ['?g'] }]) {
        const [ra, rb] = await Promise.all([a.post('/ask', { ...body, scope, limit: 10_000 }), b.post('/ask', { ...body, scope, limit: 10_000 })]);
        t.is(ra.status, 200);
        const strip = (v: unknown) => JSON.stringify(v).replace(/"\$context":"[^"]*"/g, '');
        t.is(strip(rb.json), strip(ra.json), `${body.predicate} in ${scope}`);
      }
    }
    // Sessions, access counts and rules carry no layer ids: the two exports hold the same lines of them.
    const kinds = (all: string) => all.trim().split('\n').filter((l) => /"kind":"(session|access|rule)"/.test(l)).sort();
    t.deepEqual(kinds(await exportOf(server.url, TARGET)), kinds(text));
  } finally {
    await stop(server, 'SIGTERM');
  }
});
