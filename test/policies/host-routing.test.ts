/** Host routing: with VESPER_BASE_HOST, `{tenant}.<base>` names the tenant; header, path and Host must agree; those hosts pass the Host check. */
import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, rawRequest, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_BASE_HOST: 'example.com' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const port = (url: string) => new URL(url).port;

test('host routing › {tenant}.example.com selects the tenant when nothing else names one', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('acme');
  const host = `${tenant}.example.com:${port(url)}`;
  const told = await rawRequest(url, 'POST', '/tell', JSON.stringify({ predicate: 'plan', args: ['pro'] }), { Host: host });
  t.is(told.status, 200, told.text);
  t.is(told.json.facts[0].$context, `vesper://default/~${tenant}`);
  const seen = await tenantApi(url, tenant).post('/ask', { predicate: 'plan', args: ['?p'] });
  t.deepEqual(seen.json.results.map((r: { args: string[] }) => r.args), [['pro']]);
  const asked = await rawRequest(url, 'POST', '/ask', JSON.stringify({ predicate: 'plan', args: ['?p'] }), { Host: host.toUpperCase() });
  t.is(asked.status, 200, asked.text);
  t.is(asked.json.results.length, 1);
});

test('host routing › header, path and Host must agree: the same tenant passes, another is 400', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('acme');
  const host = `${tenant}.example.com`;
  const body = JSON.stringify({ predicate: 'plan', args: ['?p'] });
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: host, 'X-Tenant-ID': tenant })).status, 200);
  t.is((await rawRequest(url, 'POST', `/~${tenant}/ask`, body, { Host: host })).status, 200);
  const header = await rawRequest(url, 'POST', '/ask', body, { Host: host, 'X-Tenant-ID': 'other' });
  t.is(header.status, 400, header.text);
  t.is(header.json.code, 'VALIDATION_ERROR');
  t.regex(header.json.message, /Host/);
  t.is((await rawRequest(url, 'POST', '/~other/ask', body, { Host: host })).status, 400);
  // The base host alone names no tenant.
  const bare = await rawRequest(url, 'POST', '/ask', body, { Host: 'example.com' });
  t.is(bare.status, 400);
  t.regex(bare.json.message, /X-Tenant-ID header is required/);
  const bad = await rawRequest(url, 'POST', '/ask', body, { Host: 'no~pe.example.com' });
  t.is(bad.status, 400, bad.text);
});

test('host routing › other host names are still refused by the Host check (403); without VESPER_BASE_HOST so are tenant hosts', async (t) => {
  const { url } = t.context.server;
  const body = JSON.stringify({ predicate: 'plan', args: ['?p'] });
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: 'acme.evil.com' })).status, 403);
  t.is((await rawRequest(url, 'POST', '/ask', body, { Host: 'acme.example.com.evil.com' })).status, 403);
  const plain = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  try {
    t.is((await rawRequest(plain.url, 'POST', '/ask', body, { Host: 'acme.example.com' })).status, 403);
  } finally {
    await plain.close();
  }
});
