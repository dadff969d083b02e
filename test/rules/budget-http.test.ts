/**
 * Issue 12, "no tenant stalls the others", through the real server: a query over its budget is a
 * 422 QUERY_BUDGET_EXCEEDED with the limit in details; another tenant's point asks are answered
 * while one tenant's heavy closure runs; a client that disconnects cancels its evaluation.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import Koa from 'koa';
import { disconnectSignal } from '../../src/http/cancel.js';
import { eventually, tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  // No time limit here: on a loaded machine the wall time could run out first, and the limit hit must be the tuples.
  t.context.server = await startTestServer({ VESPER_QUERY_MAX_TUPLES: '200000', VESPER_QUERY_TIMEOUT_MS: '0', VESPER_RATE_LIMIT: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';
const chain = (n: number) => ({ facts: Array.from({ length: n - 1 }, (_, i) => ({ predicate: 'edge', args: [`n${i}`, `n${i + 1}`] })) });

test('QUERY_BUDGET_EXCEEDED › a closure past the tuple budget › 422 with the limit, and narrower asks still answer', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('budget'));
  await tellOk(client, chain(1000)); // 499,500 reach pairs
  t.is((await client.post('/rules', { text: REACH })).status, 201);
  // A page larger than the number of leading values (999 sources) is evaluated in full: `limit` cannot stop it early.
  const reply = await client.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 10_000 });
  t.is(reply.status, 422, reply.text);
  t.is(reply.json.code, 'QUERY_BUDGET_EXCEEDED');
  t.is(reply.json.type, 'QueryBudgetExceededException');
  t.deepEqual(reply.json.details, { limit: 'maxTuples', value: 200_000 });
  const narrow = await client.post('/ask', { predicate: 'reach', args: ['n990', '?y'], scope: 'main' });
  t.is(narrow.status, 200, narrow.text);
  t.deepEqual(narrow.json.results.map((r: { args: string[] }) => r.args[1]), ['n991', 'n992', 'n993', 'n994', 'n995', 'n996', 'n997', 'n998', 'n999']);
});

test('stall › another tenant’s point asks › answered, and right, while a heavy closure runs', async (t) => {
  const heavy = tenantApi(t.context.server.url, uniqueName('heavy'));
  const light = tenantApi(t.context.server.url, uniqueName('light'));
  await tellOk(heavy, chain(420)); // 87,990 reach pairs (twice that in tuples: derived, then the query's rows)
  t.is((await heavy.post('/rules', { text: REACH })).status, 201);
  await tellOk(light, { facts: [{ predicate: 'plan', args: ['acme', 'pro'] }] });
  let heavyDone = false;
  // limit 10,000 > 419 leading values: the whole closure is computed (a small limit would stop early).
  const closure = heavy.post('/ask', { predicate: 'reach', args: ['?x', '?y'], scope: 'main', limit: 10_000 }).finally(() => (heavyDone = true));
  let during = 0;
  while (!heavyDone) {
    const reply = await light.post('/ask', { predicate: 'plan', args: ['acme', '?tier'] });
    t.is(reply.status, 200);
    t.deepEqual(reply.json.results[0].bindings, { tier: 'pro' });
    if (!heavyDone) during += 1;
  }
  const done = await closure;
  t.is(done.status, 200, done.text);
  t.deepEqual(done.json.results[0].args, ['n0', 'n1']);
  // Without cooperative yielding the closure holds the event loop and no point ask completes meanwhile.
  t.true(during >= 3, `${during} point asks completed during the closure`);
});

test('cancel › a client that disconnects mid-closure › its evaluation stops (499 REQUEST_CANCELLED in the metrics)', async (t) => {
  // Its own server without a tuple budget: the closure (719,400 pairs) runs for seconds unless cancelled.
  const server = await startTestServer({ VESPER_QUERY_MAX_TUPLES: '0', VESPER_QUERY_TIMEOUT_MS: '0', VESPER_RATE_LIMIT: '0' });
  t.teardown(() => server.close());
  const tenant = uniqueName('gone');
  const client = tenantApi(server.url, tenant);
  await tellOk(client, chain(1200));
  t.is((await client.post('/rules', { text: REACH })).status, 201);
  const controller = new AbortController();
  const request = fetch(`${server.url}/ask`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
    body: JSON.stringify({ predicate: 'reach', args: ['?x', '?y'], scope: 'main', limit: 10_000 }), // evaluated in full (more than 1,199 leading values asked)
    signal: controller.signal,
  }).catch(() => null);
  setTimeout(() => controller.abort(), 1000);
  await request;
  const cancelled = await eventually(async () => /route="\/ask",status="499"/.test((await client.get('/metrics')).text));
  t.true(cancelled, 'the ask ended as REQUEST_CANCELLED');
});

test('cancel › a client that disconnects › aborts its request signal with REQUEST_CANCELLED', async (t) => {
  const app = new Koa();
  let received: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (received = resolve));
  let aborted: (reason: unknown) => void = () => {};
  const reason = new Promise<unknown>((resolve) => (aborted = resolve));
  app.use(async (ctx) => {
    const signal = disconnectSignal(ctx);
    received();
    await once(signal, 'abort');
    aborted(signal.reason);
    ctx.body = {};
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const controller = new AbortController();
  const request = fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}', signal: controller.signal }).catch(() => null);
  await arrived; // the handler runs: now the client goes away
  controller.abort();
  await request;
  t.is(((await reason) as { code?: string } | null)?.code, 'REQUEST_CANCELLED');
});

test('cancel › a signal made only after the client left (made on demand) › is aborted already', async (t) => {
  const app = new Koa();
  let received: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (received = resolve));
  let reason: unknown = null;
  app.use(async (ctx) => {
    received();
    if (!ctx.res.closed) await once(ctx.res, 'close'); // the client is gone before the signal exists
    const signal = disconnectSignal(ctx);
    reason = signal.aborted ? signal.reason : null;
    ctx.body = {};
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const controller = new AbortController();
  const request = fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}', signal: controller.signal }).catch(() => null);
  await arrived;
  controller.abort();
  await request;
  while (reason === null) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is((reason as { code?: string }).code, 'REQUEST_CANCELLED');
});

test('QUERY_BUDGET_EXCEEDED › an all-scope ask over many scopes › its shared reads count against the rows budget', async (t) => {
  const server = await startTestServer({ VESPER_QUERY_MAX_ROWS: '500', VESPER_RATE_LIMIT: '0' });
  t.teardown(() => server.close());
  const client = tenantApi(server.url, uniqueName('rows'));
  await tellOk(client, chain(101)); // 100 edges
  t.is((await client.post('/rules', { text: 'hop(?x, ?y) :- edge(?x, ?y).' })).status, 201);
  for (let i = 0; i < 10; i++) t.is((await client.post('/scope/fork', { source: 'main', target: `f${i}` })).status, 201);
  const one = await client.post('/ask', { predicate: 'hop', args: ['?x', '?y'], scope: 'main', limit: 1000 });
  t.is(one.status, 200, one.text);
  t.is(one.json.results.length, 100);
  // Over all 11 scopes the edges are read once per scope that sees them: 1,100 rows.
  const all = await client.post('/ask', { predicate: 'hop', args: ['?x', '?y'], limit: 1000 });
  t.is(all.status, 422, all.text);
  t.deepEqual(all.json.details, { limit: 'maxRows', value: 500 });
});
