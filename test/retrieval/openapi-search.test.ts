// The OpenAPI document of POST /search says what the server accepts: a body with query or queryEmbedding.
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

type Schema = { anyOf?: { required?: string[] }[]; properties?: Record<string, unknown> };

test('openapi › POST /search › the body is required and needs query or queryEmbedding, as the server does', async (t) => {
  const { url } = t.context.server;
  const doc = (await api(url).get('/openapi.json')).json;
  const body = doc.paths['/search'].post.requestBody as { required: boolean; content: Record<string, { schema: Schema }> };
  t.true(body.required, 'a search without a body is a 400');
  const schema = body.content['application/json']?.schema ?? {};
  t.deepEqual((schema.anyOf ?? []).map((branch) => branch.required), [['query'], ['queryEmbedding']]);
  const c = tenantApi(url, uniqueName('oas'));
  assertError(t, await c.post('/search', {}), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { limit: 3 }), 400, 'VALIDATION_ERROR');
  t.is((await c.post('/search', { query: 'x' })).status, 200);
});
