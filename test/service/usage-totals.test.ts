/** Per-tenant usage totals in memory stay bounded however many tenants a process sees. */
import test from 'ava';
import type { Catalog } from '../../src/store/catalog.js';
import { UsageService } from '../../src/service/usage.js';

test('usage totals › beyond the tracked maximum the quietest tenants are folded into one sum, and nothing counted is lost', (t) => {
  // Counting never touches the catalog (only flush and read do).
  const usage = new UsageService(undefined as unknown as Catalog, () => Date.UTC(2026, 10, 26), 10);
  let counted = 0;
  for (let i = 0; i < 250; i++) {
    const requests = i % 7 === 0 ? 50 : 1; // every seventh tenant is busy
    for (let r = 0; r < requests; r++) usage.request({ database: 'default', tenant: `t${i}` }, 'ask');
    counted += requests;
  }
  const { tenants, folded } = usage.tenantTotals();
  t.true(tenants.length <= 10, `${tenants.length} tenants tracked`);
  t.is(tenants.reduce((sum, u) => sum + u.requests, 0) + folded.requests, counted);
  // The busiest tenants are the ones still tracked one by one.
  t.true(tenants.slice(0, 5).every((u) => u.requests === 50), JSON.stringify(tenants.map((u) => u.requests)));
});
