// Issue 12, item 6: deleting a tenant takes exactly that tenant of that database out of the keys,
// whatever else they grant, and the reply says which keys changed.
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api } from '../helpers/server.js';
import { adminApi, bearer, createKey, expectStatus, startSecureServer } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const askStatus = async (url: string, key: string, db: string, tenant: string) =>
  (await api(url, bearer(key)).post(`/db/${db}/~${tenant}/ask`, { predicate: 'p', args: ['?x'] })).status;

test('issue 12 item 6 › an admin limited to database XA deletes t1 of XA › keys that also grant t1 in XB keep XB, and the reply lists the keys changed', async (t) => {
  const { url } = t.context.server;
  const xa = uniqueName('XA');
  const xb = uniqueName('XB');
  for (const db of [xa, xb]) for (const tenant of ['t1', 't2']) await expectStatus('seed', adminApi(url).post(`/db/${db}/~${tenant}/tell`, { predicate: 'p', args: [1] }), 200);
  const xaAdmin = await createKey(url, { role: 'admin', databases: [xa] });
  const both = await createKey(url, { role: 'reader', databases: [xa, xb], tenants: ['t1'] });
  const everyDb = await createKey(url, { role: 'reader', tenants: ['t1', 't2'] });
  const xaTwo = await createKey(url, { role: 'reader', databases: [xa], tenants: ['t1', 't2'] });
  const xaOnly = await createKey(url, { role: 'reader', databases: [xa], tenants: ['t1'] });
  const xbOnly = await createKey(url, { role: 'reader', databases: [xb], tenants: ['t1'] });

  const reply = await expectStatus('delete XA/t1', api(url, bearer(xaAdmin.key)).request('DELETE', `/admin/databases/${xa}/tenants/t1`), 200);
  t.deepEqual(reply.json.keys.revoked, [xaOnly.id]);
  t.deepEqual([...reply.json.keys.narrowed].sort(), [both.id, everyDb.id, xaTwo.id].sort());

  // Nothing outside XA/t1 was taken away.
  t.is(await askStatus(url, both.key, xb, 't1'), 200);
  t.is(await askStatus(url, everyDb.key, xb, 't1'), 200);
  t.is(await askStatus(url, everyDb.key, xa, 't2'), 200);
  t.is(await askStatus(url, xaTwo.key, xa, 't2'), 200);
  t.is(await askStatus(url, xbOnly.key, xb, 't1'), 200);
  t.is(await askStatus(url, xaOnly.key, xa, 't2'), 401);

  // XA/t1 written again: none of the old keys reaches it.
  await expectStatus('re-create XA/t1', adminApi(url).post(`/db/${xa}/~t1/tell`, { predicate: 'p', args: [2] }), 200);
  for (const key of [both, everyDb, xaTwo]) t.is(await askStatus(url, key.key, xa, 't1'), 403);

  const listed = (await adminApi(url).get('/auth/keys')).json.keys as { id: string; tenants: unknown; except?: string[] }[];
  t.deepEqual(listed.find((k) => k.id === xaTwo.id)?.tenants, ['t2']);
  t.deepEqual(listed.find((k) => k.id === both.id)?.except, [`${xa}/t1`]);
  t.is(listed.find((k) => k.id === xbOnly.id)?.except, undefined);
});

test('issue 12 item 6 › deleting a tenant nobody names › changes no key', async (t) => {
  const { url } = t.context.server;
  const db = uniqueName('quiet');
  await expectStatus('seed', adminApi(url).post(`/db/${db}/~lonely/tell`, { predicate: 'p', args: [1] }), 200);
  const reply = await expectStatus('delete', adminApi(url).request('DELETE', `/admin/databases/${db}/tenants/lonely`), 200);
  t.deepEqual(reply.json.keys, { revoked: [], narrowed: [] });
});
