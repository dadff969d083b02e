/**
 * Tiers over rate-limiter-flexible, through the real server: the tier's limit with the IETF
 * RateLimit-Policy / RateLimit fields on every reply, 429 RATE_LIMITED with Retry-After above it,
 * recovery when the window turns, other tenants untouched, and `overflow: queue`.
 */
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  // `default` (the flat VESPER_RATE_LIMIT) unlimited; `tiny` and `pair` have one-second windows so that recovery is quick.
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_TIERS: 'tiny=3/1,pair=2/1' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function tenantOn(url: string, settings: Record<string, unknown>): Promise<string> {
  const tenant = uniqueName('tier');
  const created = await api(url).post('/admin/databases/default/tenants', { name: tenant });
  if (created.status !== 201) throw new Error(created.text);
  const put = await api(url).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, settings);
  if (put.status !== 200) throw new Error(put.text);
  return tenant;
}

const ask = { predicate: 'p', args: ['?x'] };

test('tier free › 20 requests a minute with RateLimit fields, the 21st is 429 with Retry-After; another tenant is not limited', async (t) => {
  const { url } = t.context.server;
  const free = tenantApi(url, await tenantOn(url, { tier: 'free' }));
  const other = tenantApi(url, uniqueName('other'));
  for (let i = 0; i < 20; i++) {
    const reply = await free.post('/ask', ask);
    t.is(reply.status, 200, reply.text);
    t.is(reply.headers.get('ratelimit-policy'), '"free";q=20;w=60');
    t.regex(reply.headers.get('ratelimit') ?? '', new RegExp(`^"free";r=${19 - i};t=\\d+$`));
  }
  const refused = await free.post('/ask', ask);
  assertError(t, refused, 429, 'RATE_LIMITED');
  t.like(refused.json.details, { tier: 'free', limit: 20, windowSeconds: 60 });
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.true(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  t.is(refused.headers.get('ratelimit-policy'), '"free";q=20;w=60');
  t.regex(refused.headers.get('ratelimit') ?? '', /^"free";r=0;t=\d+$/);
  // The server default here is unlimited: no fields, no refusal.
  for (let i = 0; i < 25; i++) t.is((await other.post('/ask', ask)).status, 200);
  t.is((await other.post('/ask', ask)).headers.get('ratelimit'), null);
});

test('tier › a refused tenant recovers when its window turns; requestsPerWindow overrides the tier’s number', async (t) => {
  const { url } = t.context.server;
  const name = await tenantOn(url, { tier: 'tiny' });
  const tiny = tenantApi(url, name);
  for (let i = 0; i < 3; i++) t.is((await tiny.post('/ask', ask)).status, 200);
  const refused = await tiny.post('/ask', ask);
  assertError(t, refused, 429, 'RATE_LIMITED');
  t.is(refused.headers.get('retry-after'), '1');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const again = await tiny.post('/ask', ask);
  t.is(again.status, 200, again.text);
  t.regex(again.headers.get('ratelimit') ?? '', /^"tiny";r=2;t=1$/);
  // Raised to 5 for this tenant: the change applies to the next request.
  t.is((await api(url).request('PUT', `/admin/databases/default/tenants/${name}/settings`, { requestsPerWindow: 5 })).status, 200);
  const raised = await tiny.post('/ask', ask);
  t.is(raised.headers.get('ratelimit-policy'), '"tiny";q=5;w=1');
});

test('overflow queue › requests above the limit wait for the next window instead of failing, up to queueMaxMs, then 429', async (t) => {
  const { url } = t.context.server;
  const pair = tenantApi(url, await tenantOn(url, { tier: 'pair', overflow: 'queue', queueMaxMs: 1500 }));
  // 2 per second: 2 pass at once, 2 wait for the next window (~1 s), the last 2 would need ~2 s > 1.5 s.
  const replies = await Promise.all(Array.from({ length: 6 }, () => pair.post('/ask', ask)));
  const statuses = replies.map((r) => r.status).sort();
  t.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  const refused = replies.find((r) => r.status === 429);
  t.like(refused?.json.details, { tier: 'pair', queuedMs: 1500 });

  // The same flood with overflow reject: only the window's 2 pass.
  const reject = tenantApi(url, await tenantOn(url, { tier: 'pair' }));
  const rejected = await Promise.all(Array.from({ length: 6 }, () => reject.post('/ask', ask)));
  t.deepEqual(rejected.map((r) => r.status).sort(), [200, 200, 429, 429, 429, 429]);
});
