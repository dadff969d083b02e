/** Usage metering: numbers after known writes and reads, day buckets persisted across a restart, bounded /metrics series. */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { api, tenantApi } from '../helpers/server.js';
import { adminApi, bearer, createKey, startSecureServer } from '../security/support.js';

const test = anyTest as TestFn;

const today = () => new Date().toISOString().slice(0, 10);

test('usage › after known requests › requests by operation, facts, bytes, rows read and rule time; persisted across a restart', async (t) => {
  const server = await startSecureServer();
  const tenant = uniqueName('metered');
  const client = tenantApi(server.url, tenant).with(bearer('test-admin-key-0123456789'));
  await tellOk(client, { facts: [{ predicate: 'parent', args: ['a', 'b'] }, { predicate: 'parent', args: ['b', 'c'] }, { predicate: 'parent', args: ['c', 'd'] }] });
  t.is((await client.post('/ask', { predicate: 'parent', args: ['?x', '?y'] })).json.results.length, 3);
  t.is((await client.post('/ask', { predicate: 'parent', args: ['a', '?y'] })).json.results.length, 1);
  t.is((await client.post('/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).' })).status, 201);
  t.is((await client.post('/ask', { predicate: 'ancestor', args: ['?x', '?y'] })).json.results.length, 6);
  const other = tenantApi(server.url, uniqueName('other')).with(bearer('test-admin-key-0123456789'));
  await tellOk(other, { predicate: 'x', args: [1] });

  const read = async (url: string) => {
    const reply = await adminApi(url).get(`/admin/usage?database=default&tenant=${tenant}&from=${today()}&to=${today()}`);
    t.is(reply.status, 200, reply.text);
    return reply.json;
  };
  const usage = await read(server.url);
  t.like(usage, { database: 'default', tenant });
  t.is(usage.days.length, 1);
  const [day] = usage.days;
  t.like(day, { tenant, day: today(), facts: 3 });
  t.deepEqual(day.requests, { tell: 1, ask: 3, addRules: 1 });
  t.true(day.bytes > 3 * 20 && day.bytes < 3 * 200, `bytes ${day.bytes}`);
  t.true(day.rowsRead >= 3 + 1 + 3, `rows ${day.rowsRead}`); // the two stored asks, then the rule evaluation reads the parents at least once
  t.true(day.ruleEvalMs > 0);
  const all = await adminApi(server.url).get('/admin/usage?database=default');
  t.true(all.json.days.some((d: { tenant: string }) => d.tenant !== tenant), 'every tenant of the database without ?tenant');

  await server.close({ keepData: true });
  const again = await startSecureServer({ dataDir: server.dataDir });
  try {
    const after = await read(again.url);
    t.deepEqual(after.days, usage.days, 'persisted as it was');
    await tellOk(tenantApi(again.url, tenant).with(bearer('test-admin-key-0123456789')), { predicate: 'parent', args: ['d', 'e'] });
    const added = (await read(again.url)).days[0];
    t.deepEqual(added.requests, { tell: 2, ask: 3, addRules: 1 }, 'added to the day, not replaced');
    t.is(added.facts, 4);
    assertError(t, await adminApi(again.url).get('/admin/usage?from=2026-13-01'), 400, 'VALIDATION_ERROR');
    assertError(t, await adminApi(again.url).get('/admin/usage?from=2026-02-02&to=2026-02-01'), 400, 'VALIDATION_ERROR');
    const writer = await createKey(again.url, { role: 'writer', databases: ['default'], tenants: [tenant] });
    assertError(t, await api(again.url, bearer(writer.key)).get(`/admin/usage?tenant=${tenant}`), 403, 'FORBIDDEN');
  } finally {
    await again.close();
  }
});

test('metrics › per-tenant series for the top 20 tenants by requests, the rest summed as other', async (t) => {
  const server = await startSecureServer();
  try {
    const prefix = uniqueName('m');
    for (let i = 0; i < 24; i++) {
      const client = tenantApi(server.url, `${prefix}_${i}`).with(bearer('test-admin-key-0123456789'));
      for (let j = 0; j <= i; j++) t.is((await client.post('/ask', { predicate: 'p', args: ['?x'] })).status, 200);
    }
    const text = (await adminApi(server.url).get('/metrics')).text;
    const lines = text.split('\n').filter((l) => l.startsWith('vesper_tenant_requests_total{'));
    t.is(lines.length, 21, lines.join('\n'));
    t.true(lines.includes(`vesper_tenant_requests_total{database="default",tenant="${prefix}_23"} 24`));
    t.true(lines.includes('vesper_tenant_requests_total{database="other",tenant="other"} 10'), 'tenants 0-3: 1+2+3+4');
    t.false(lines.some((l) => l.includes(`tenant="${prefix}_0"`)));
  } finally {
    await server.close();
  }
});
