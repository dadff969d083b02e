// Usage is counted per UTC day: the day is remembered between requests (not formatted for each),
// so a clock crossing midnight, either way, must still put every request in its own day.
import test from 'ava';
import { UsageService } from '../../src/service/usage.js';
import { memoryCatalog } from '../store/support.js';

test('usage › requests either side of midnight, and a clock set back › each counted in its own UTC day', async (t) => {
  const { catalog } = await memoryCatalog();
  await (await catalog.forWrite('default')).database.registerTenant('t');
  const midnight = Date.UTC(2026, 10, 27);
  let now = midnight - 1;
  const usage = new UsageService(catalog, () => now);
  const address = { database: 'default', tenant: 't' };
  usage.request(address, 'ask');
  now = midnight;
  usage.request(address, 'ask');
  usage.request(address, 'tell');
  now = midnight - 5000; // the clock set back: the earlier day again
  usage.request(address, 'ask');
  now = midnight + 86_400_000 - 1;
  usage.request(address, 'tell');
  now = midnight + 2 * 86_400_000;
  const days = await usage.read('default', 't', '2026-11-25', '2026-11-29');
  t.deepEqual(
    days.map((d) => [d.day, d.requests]),
    [
      ['2026-11-26', { ask: 2 }],
      ['2026-11-27', { ask: 1, tell: 2 }],
    ],
  );
  await catalog.close();
});
