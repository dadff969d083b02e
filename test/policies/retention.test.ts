// eventRetentionDays per tenant: the hourly prune keeps each tenant's events for its own retention.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { api } from '../helpers/server.js';

test('eventRetentionDays › a tenant with a retention of ~0.1 s loses its events to the prune; its neighbour keeps them', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-retention-'));
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent' }));
  try {
    for (const tenant of ['short', 'long']) t.is((await api(server.url, { 'X-Tenant-ID': tenant }).post('/tell', { predicate: 'p', args: [1] })).status, 200);
    const put = await api(server.url).request('PUT', '/admin/databases/default/tenants/short/settings', { eventRetentionDays: 0.1 / 86_400 });
    t.is(put.status, 200, put.text);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const retention = async (database: string, tenant: string) => (await server.services.settings.forTenant(database, tenant)).eventRetentionDays * 86_400_000;
    t.is(await server.services.audit.prune(retention), 1);
    t.is((await api(server.url, { 'X-Tenant-ID': 'short' }).get('/audit')).json.events.length, 0);
    t.is((await api(server.url, { 'X-Tenant-ID': 'long' }).get('/audit')).json.events.length, 1);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
