// GET /admin/usage: `from` and `to` are calendar days; one that does not exist is refused as such.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

test('usage › a day that does not exist (month 13, 30 February) › 400 naming the field, not a from/to order error', async (t) => {
  const admin = api(t.context.server.url);
  for (const [field, value] of [['from', '2026-13-01'], ['to', '2026-02-30'], ['from', '2026-00-10']] as const) {
    const reply = await admin.get(`/admin/usage?database=default&${field}=${value}`);
    assertError(t, reply, 400, 'VALIDATION_ERROR');
    t.deepEqual(reply.json.details?.issues?.map((i: { path: string }) => i.path), [field], reply.text);
  }
  const ok = await admin.get('/admin/usage?database=default&from=2024-02-29&to=2024-03-01');
  t.is(ok.status, 200, ok.text);
});
