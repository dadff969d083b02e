import test from 'ava';
import { WorkSlots } from '../../src/service/work-slots.js';

const a = { database: 'db', tenant: 'a' };
const b = { database: 'db', tenant: 'b' };
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('WorkSlots › one tenant’s slots › run at most perTenant at once, the rest wait in arrival order', async (t) => {
  const slots = new WorkSlots({ perTenant: 2, queuePerTenant: 4 });
  const first = await slots.acquire(a);
  const second = await slots.acquire(a);
  const order: number[] = [];
  const third = slots.acquire(a).then((slot) => (order.push(3), slot));
  const fourth = slots.acquire(a).then((slot) => (order.push(4), slot));
  await tick();
  t.deepEqual(order, [], 'both wait while two run');
  const other = await slots.acquire(b);
  t.pass('another tenant is not held by them');
  other[Symbol.dispose]();
  first[Symbol.dispose]();
  first[Symbol.dispose](); // releasing twice frees one slot
  await tick();
  t.deepEqual(order, [3]);
  second[Symbol.dispose]();
  await tick();
  t.deepEqual(order, [3, 4]);
  (await third)[Symbol.dispose]();
  (await fourth)[Symbol.dispose]();
  t.is(slots.busyTenants(), 0, 'nothing kept for idle tenants');
});

test('WorkSlots › a full queue › refuses with 429 RATE_LIMITED naming the concurrency limit', async (t) => {
  const slots = new WorkSlots({ perTenant: 1, queuePerTenant: 1 });
  const running = await slots.acquire(a);
  const waiting = slots.acquire(a);
  const error = await t.throwsAsync(slots.acquire(a));
  t.like(error, { code: 'RATE_LIMITED', details: { limit: 'concurrency', running: 1, waiting: 1, retryAfterSeconds: 1 } });
  running[Symbol.dispose]();
  (await waiting)[Symbol.dispose]();
  t.is(slots.busyTenants(), 0);
});

test('WorkSlots › a waiting request whose client goes away › leaves the queue and takes no slot', async (t) => {
  const slots = new WorkSlots({ perTenant: 1, queuePerTenant: 4 });
  const running = await slots.acquire(a);
  const controller = new AbortController();
  const cancelled = slots.acquire(a, controller.signal);
  const next = slots.acquire(a);
  controller.abort(new Error('gone'));
  await t.throwsAsync(cancelled, { message: 'gone' });
  running[Symbol.dispose]();
  (await next)[Symbol.dispose]();
  t.is(slots.busyTenants(), 0, 'the cancelled waiter held nothing');
});

test('WorkSlots › no limit › perTenant 0 never waits', async (t) => {
  const slots = new WorkSlots({ perTenant: 0, queuePerTenant: 0 });
  const held = await Promise.all(Array.from({ length: 50 }, () => slots.acquire(a)));
  t.is(held.length, 50);
  t.is(slots.busyTenants(), 0);
});
