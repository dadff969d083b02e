// Request latency metrics: one histogram series per method, matched route and final status.
import anyTest, { type TestFn } from 'ava';
import { type TestServer, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

/** The `_count` of the request duration histogram for one label set (0 when the series does not exist yet). */
async function count(url: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`vesper_http_request_duration_seconds_count{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('GET /metrics › requests › are counted by method, matched route and final status', async (t) => {
  const { url } = t.context.server;
  const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'metrics' }, body });
  const ok = 'method="POST",route="/ask",status="200"';
  const bad = 'method="POST",route="/ask",status="400"';
  const before = { ok: await count(url, ok), bad: await count(url, bad) };
  for (let i = 0; i < 3; i++) await (await post('/ask', JSON.stringify({ predicate: 'p', args: ['?x'] }))).text();
  await (await post('/ask', '{"predicate": 5}')).text();
  t.is((await count(url, ok)) - before.ok, 3);
  t.is((await count(url, bad)) - before.bad, 1);
  t.true((await count(url, 'method="GET",route="unmatched",status="404"')) === 0);
  await (await fetch(`${url}/no-such-route`)).text();
  t.is(await count(url, 'method="GET",route="unmatched",status="404"'), 1);
});
