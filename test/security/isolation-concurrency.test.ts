// Isolation under concurrency, bounded for npm test (the torture run is larger: test/torture).
import test from 'ava';
import { runIsolation } from './isolation-concurrency.js';
import { startSecureServer } from './support.js';

test('isolation under concurrency › HTTP and MCP clients across databases × tenants × scopes, with tenant deletions and key rotations › 0 leaks', async (t) => {
  const server = await startSecureServer();
  try {
    const report = await runIsolation(server.url, { databases: 2, tenants: 2, rounds: 8, chaosEveryMs: 200 });
    t.log(JSON.stringify({ ...report, leaks: report.leaks.length }));
    t.deepEqual(report.leaks.slice(0, 10), []);
    t.true(report.reads > 20 && report.deletions === 4 && report.rotations === 4, JSON.stringify({ ...report, leaks: report.leaks.length }));
    t.true(report.refused > 0, 'clients of deleted tenants and revoked keys were refused');
  } finally {
    await server.close();
  }
});
