import anyTest, { type TestFn } from 'ava';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { diff, label, ok, optimize } from './support.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const client = (t: { context: { server: TestServer } }) => tenantApi(t.context.server.url, uniqueName('ctx'));

const six = () => ({ facts: ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => ({ predicate: 'item', args: [name] })) });

test('POST /context/diff › an unknown session gets everything as added and a full refresh', async (t) => {
  const c = client(t);
  await tellOk(c, six());
  const first = await diff(c, { sessionId: 'thread-1' });
  t.is(first.previousWindowId, null);
  t.regex(first.currentWindowId, /^ctx_/);
  t.is(first.added.length, 6);
  t.deepEqual(first.removed, []);
  t.is(first.unchanged, 0);
  t.true(first.fullRefreshRecommended);
  t.is(first.reason, 'no previous session found');
  t.is(first.currentWindowId, (await optimize(c)).windowId);
});

test('POST /context/diff › after a tell and a retract, exactly the new fact is added and the retracted one removed', async (t) => {
  const c = client(t);
  await tellOk(c, six());
  const first = await diff(c, { sessionId: 's' });
  await tellOk(c, { predicate: 'item', args: ['g'] });
  await ok(c.post('/retract', { predicate: 'item', args: ['b'] }));
  const second = await diff(c, { sessionId: 's' });
  t.is(second.previousWindowId, first.currentWindowId);
  t.not(second.currentWindowId, first.currentWindowId);
  t.deepEqual(second.added.map(label), ['item(g)']);
  t.like(second.added[0], { scope: 'main', negated: false, provenance: null });
  t.deepEqual(second.removed, [{ predicate: 'item', args: ['b'], negated: false, scope: 'main' }]);
  t.is(second.unchanged, 5);
  t.false(second.fullRefreshRecommended);
  t.is(second.reason, null);
  const third = await diff(c, { sessionId: 's' });
  t.deepEqual([third.added, third.removed, third.unchanged], [[], [], 6]);
  t.is(third.previousWindowId, third.currentWindowId);
});

test('POST /context/diff › a fact told again with another confidence is re-sent as added', async (t) => {
  const c = client(t);
  await tellOk(c, six());
  await diff(c, { sessionId: 's' });
  await tellOk(c, { predicate: 'item', args: ['c'], confidence: 0.3 });
  const next = await diff(c, { sessionId: 's' });
  t.deepEqual(next.added.map(label), ['item(c)']);
  t.is(next.added[0].confidence, 0.3);
  t.deepEqual(next.removed, []);
  t.is(next.unchanged, 5);
});

test('POST /context/diff › when more than half changed, a full refresh is recommended with a reason', async (t) => {
  const c = client(t);
  await tellOk(c, { facts: [{ predicate: 'old', args: [1] }, { predicate: 'old', args: [2] }, { predicate: 'old', args: [3] }, { predicate: 'keep', args: [1] }] });
  await diff(c, { sessionId: 's' });
  await ok(c.post('/retract', { predicate: 'old', args: ['?x'] }));
  await tellOk(c, { facts: [{ predicate: 'new', args: [1] }, { predicate: 'new', args: [2] }, { predicate: 'new', args: [3] }] });
  const next = await diff(c, { sessionId: 's' });
  t.is(next.added.length, 3);
  t.is(next.removed.length, 3);
  t.is(next.unchanged, 1);
  t.true(next.fullRefreshRecommended);
  t.regex(next.reason, /6 entries changed of 8/);
});

test('POST /context/optimize › with a sessionId it becomes the session window that diff compares with', async (t) => {
  const c = client(t);
  await tellOk(c, six());
  const window = await optimize(c, { sessionId: 'opt' });
  const next = await diff(c, { sessionId: 'opt' });
  t.is(next.previousWindowId, window.windowId);
  t.is(next.unchanged, 6);
  t.false(next.fullRefreshRecommended);
});

test('POST /context/session/clear › forgets the session; clearing again or an unknown one says false', async (t) => {
  const c = client(t);
  await tellOk(c, six());
  await diff(c, { sessionId: 'gone' });
  t.deepEqual(await ok(c.post('/context/session/clear', { sessionId: 'gone' })), { cleared: true, sessionId: 'gone' });
  t.deepEqual(await ok(c.post('/context/session/clear', { sessionId: 'gone' })), { cleared: false, sessionId: 'gone' });
  t.deepEqual(await ok(c.post('/context/session/clear', { sessionId: 'never' })), { cleared: false, sessionId: 'never' });
  const after = await diff(c, { sessionId: 'gone' });
  t.is(after.previousWindowId, null);
  t.is(after.reason, 'no previous session found');
});

test('POST /context/diff › the same sessionId in two tenants is two sessions', async (t) => {
  const a = client(t);
  const b = client(t);
  await tellOk(a, { predicate: 'only_a', args: [1] });
  await tellOk(b, { predicate: 'only_b', args: [1] });
  const firstA = await diff(a, { sessionId: 'shared' });
  const firstB = await diff(b, { sessionId: 'shared' });
  t.is(firstB.previousWindowId, null);
  t.deepEqual(firstA.added.map(label), ['only_a(1)']);
  t.deepEqual(firstB.added.map(label), ['only_b(1)']);
  const secondA = await diff(a, { sessionId: 'shared' });
  t.is(secondA.previousWindowId, firstA.currentWindowId);
  await ok(b.post('/context/session/clear', { sessionId: 'shared' }));
  t.is((await diff(a, { sessionId: 'shared' })).previousWindowId, firstA.currentWindowId);
});

test('POST /context/diff › sessions disappear with their tenant', async (t) => {
  const name = uniqueName('ctx');
  const c = tenantApi(t.context.server.url, name);
  await tellOk(c, six());
  await diff(c, { sessionId: 's' });
  const deleted = await c.request('DELETE', `/admin/databases/default/tenants/${name}`);
  t.is(deleted.status, 200, deleted.text);
  await tellOk(c, six());
  const after = await diff(c, { sessionId: 's' });
  t.is(after.previousWindowId, null);
  t.is(after.reason, 'no previous session found');
});

test('POST /context/optimize › after the tenant is deleted and created again, no window shows its old facts', async (t) => {
  const name = uniqueName('ctx');
  const c = tenantApi(t.context.server.url, name);
  await tellOk(c, six());
  t.is((await optimize(c)).entries.length, 6);
  t.is((await c.request('DELETE', `/admin/databases/default/tenants/${name}`)).status, 200);
  const created = await c.post('/admin/databases/default/tenants', { name });
  t.true(created.status === 200 || created.status === 201, created.text);
  t.deepEqual((await optimize(c)).entries, []);
});
