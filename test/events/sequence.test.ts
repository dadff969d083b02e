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

async function tell(server: RunningServer, tenant: string, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const reply = await api(server.url, { 'X-Tenant-ID': tenant }).post('/tell', { predicate: 'p', args: [i] });
    if (reply.status !== 200) throw new Error(`tell: ${reply.status} ${reply.text}`);
  }
}

/** Resume the stream after `lastSeen`, write one fact, and return the ids of what arrived. */
async function resume(server: RunningServer, tenant: string, lastSeen: number, fact: number): Promise<number[]> {
  const stream = await openStream(`${server.url}/events`, { 'X-Tenant-ID': tenant, 'Last-Event-ID': String(lastSeen) });
  try {
    await stream.waitForComment(/connected/);
    await tell(server, tenant, 1, fact);
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
