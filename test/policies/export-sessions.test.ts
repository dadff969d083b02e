// Issue 13: the export carries "sessions optional": `?sessions=false` leaves the context sessions out.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const kinds = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line).kind as string);

test('export › sessions=false › no session lines, the end line counts none, the file imports; default and sessions=true keep them; another value is 400', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('exps');
  const c = tenantApi(url, tenant);
  await tellOk(c, { predicate: 'ticket', args: ['t1'] });
  t.is((await c.post('/context/diff', { sessionId: 'thread-1' })).status, 200);
  const path = `/admin/databases/default/tenants/${tenant}/export`;
  const full = await api(url).get(path);
  t.true(kinds(full.text).includes('session'), 'sessions by default');
  t.true(kinds((await api(url).get(`${path}?sessions=true`)).text).includes('session'));
  const bare = await api(url).get(`${path}?sessions=false`);
  t.is(bare.status, 200, bare.text);
  t.false(kinds(bare.text).includes('session'));
  t.is(JSON.parse(bare.text.trim().split('\n').at(-1) ?? '{}').sessions, 0);
  const copy = uniqueName('exps');
  const imported = await api(url).post(`/admin/databases/default/tenants/${copy}/import`, bare.text, { 'content-type': 'application/x-ndjson' });
  t.is(imported.status, 201, imported.text);
  t.is(imported.json.imported.sessions, 0);
  const diff = await tenantApi(url, copy).post('/context/diff', { sessionId: 'thread-1' });
  t.is(diff.json.reason, 'no previous session found', 'the session stayed behind');
  assertError(t, await api(url).get(`${path}?sessions=maybe`), 400, 'VALIDATION_ERROR');
});
