// Event sequence numbers never go back: not after pruning every event of an idle tenant, not after a restart, not after the tenant is deleted and written again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { backendEnv } from '../helpers/backend.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { api } from '../helpers/server.js';
import { openStream } from './stream.js';

const start = (dataDir: string) => startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent', ...backendEnv(dataDir) }));

async function tell(server: RunningServer, tenant: string, n: number, from = 0, database?: string): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const reply = await api(server.url, headersOf(tenant, database)).post('/tell', { predicate: 'p', args: [i] });
    if (reply.status !== 200) throw new Error(`tell: ${reply.status} ${reply.text}`);
  }
}

const headersOf = (tenant: string, database?: string): Record<string, string> =>
  database === undefined ? { 'X-Tenant-ID': tenant } : { 'X-Tenant-ID': tenant, 'X-Database': database };

/** Resume the stream after `lastSeen`, write one fact, and return the ids of what arrived. */
async function resume(server: RunningServer, tenant: string, lastSeen: number, fact: number, database?: string): Promise<number[]> {
  const stream = await openStream(`${server.url}/events`, { ...headersOf(tenant, database), 'Last-Event-ID': String(lastSeen) });
  try {
    await stream.waitForComment(/connected/);
    await tell(server, tenant, 1, fact, database);
    const events = await stream.waitFor(1);
    return events.map((e) => Number(e.id));
  } finally {
    stream.close();
  }
}

test('GET /events › after every event was pruned and the server restarted › the stream resumes above the last id', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-seq-'));
  let server = await start(dataDir);
  try {
    await tell(server, 'idle', 3);
    t.is(await server.services.audit.prune(-60_000), 3, 'every event pruned');
    await server.close();
    server = await start(dataDir);
    t.deepEqual(await resume(server, 'idle', 3, 100), [4]);
    const audit = await api(server.url, { 'X-Tenant-ID': 'idle' }).get('/audit');
    t.deepEqual(audit.json.events.map((e: { seq: number }) => e.seq), [4]);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('GET /events › after the tenant was deleted and written again › the stream continues above the old numbers', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-seq-'));
  let server = await start(dataDir);
  try {
    await tell(server, 'reborn', 5);
    const deleted = await api(server.url).request('DELETE', '/admin/databases/default/tenants/reborn');
    t.true(deleted.status < 300, deleted.text);
    await server.close();
    server = await start(dataDir);
    t.deepEqual(await resume(server, 'reborn', 5, 200), [6]);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('GET /events › after the database was dropped and created again › its tenants continue above the old numbers', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-seq-'));
  let server = await start(dataDir);
  try {
    await tell(server, 'a', 4, 0, 'lives');
    await tell(server, 'b', 7, 0, 'lives');
    const dropped = await api(server.url).request('DELETE', '/admin/databases/lives');
    t.true(dropped.status < 300, dropped.text);
    t.is((await api(server.url).post('/databases', { name: 'lives' })).status, 201);
    // Same process: the re-created database's first event is above every number the old one gave.
    t.deepEqual(await resume(server, 'a', 4, 100, 'lives'), [8]);
    const dropAgain = await api(server.url).request('DELETE', '/admin/databases/lives');
    t.true(dropAgain.status < 300, dropAgain.text);
    // And after a restart: the floor is in the catalogue, not in the dropped files.
    await server.close();
    server = await start(dataDir);
    t.is((await api(server.url).post('/databases', { name: 'lives' })).status, 201);
    t.deepEqual(await resume(server, 'b', 8, 200, 'lives'), [9]);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('EventLog.prune › many events › deletes them in chunks and keeps the newer ones', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-seq-'));
  const server = await start(dataDir);
  try {
    const facts = Array.from({ length: 1200 }, (_, i) => ({ predicate: 'p', args: [i] }));
    const client = api(server.url, { 'X-Tenant-ID': 'busy' });
    for (const fact of facts) await client.post('/tell', fact);
    const cutoff = Date.now() + 1;
    while (Date.now() <= cutoff) await new Promise((resolve) => setTimeout(resolve, 2));
    await client.post('/tell', { predicate: 'q', args: [1] });
    t.is(await server.services.audit.prune(Date.now() - cutoff), 1200);
    const audit = await client.get('/audit');
    t.deepEqual(audit.json.events.map((e: { seq: number }) => e.seq), [1201]);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
