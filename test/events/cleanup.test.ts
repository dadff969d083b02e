import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { backendEnv } from '../helpers/backend.js';
import { startServer } from '../../src/server.js';
import { openStream, sleep } from './stream.js';

test('GET /events › the client going away › unsubscribes the stream', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-events-'));
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent', ...backendEnv(dataDir) }));
  try {
    const access = server.services.access;
    const feed = await server.services.events.feed({ database: 'default', tenant: 'gone' });
    let delivered = 0;
    const unsubscribe = feed.subscribe(() => delivered++);
    const baseline = access.watchers;
    const streams = await Promise.all([1, 2, 3].map(() => openStream(`${server.url}/events`, { 'X-Tenant-ID': 'gone' })));
    await Promise.all(streams.map((s) => s.waitForComment(/connected/)));
    t.is(access.watchers, baseline + 3);
    for (const stream of streams) stream.close();
    for (let i = 0; i < 50 && access.watchers > baseline; i++) await sleep(20);
    t.is(access.watchers, baseline);
    unsubscribe();
    t.is(delivered, 0);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
