// The OpenAPI document of the policy routes says what the server answers: checked against real replies.
import anyTest, { type TestFn } from 'ava';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

type Doc = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };

test('openapi › import › the success status the server answers (201) is the one the document lists', async (t) => {
  const { url } = t.context.server;
  const source = uniqueName('oas');
  await tellOk(tenantApi(url, source), { predicate: 'p', args: [1] });
  const exported = await api(url).get(`/admin/databases/default/tenants/${source}/export`);
  const imported = await api(url).post(`/admin/databases/default/tenants/${uniqueName('oas')}/import`, exported.text, { 'content-type': 'application/x-ndjson' });
  t.is(imported.status, 201, imported.text);
  const doc = (await api(url).get('/openapi.json')).json as Doc;
  const row = doc.paths['/admin/databases/{db}/tenants/{name}/import']?.post;
  t.is(row?.operationId, 'importTenant');
  const successes = Object.keys(row?.responses ?? {}).filter((code) => code.startsWith('2'));
  t.deepEqual(successes, [String(imported.status)]);
});
