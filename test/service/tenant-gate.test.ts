import test from 'ava';
import { TenantGate } from '../../src/service/tenant-gate.js';

test('TenantGate › a deletion › waits for the requests inside, refuses new ones until it reopens', async (t) => {
  const gate = new TenantGate();
  const leaveA = gate.enter('db', 't');
  const leaveB = gate.enter('db', 't');
  let closed = false;
  const closing = gate.close('db', 't').then((reopen) => {
    closed = true;
    return reopen;
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.false(closed, 'two requests are still inside');
  const error = t.throws(() => gate.enter('db', 't'));
  t.is((error as { code?: string }).code, 'CONFLICT');
  t.notThrows(() => gate.enter('db', 'other')(), 'other tenants are not affected');
  leaveA();
  leaveA(); // leaving twice counts once
  await new Promise((resolve) => setImmediate(resolve));
  t.false(closed);
  leaveB();
  const reopen = await closing;
  t.true(closed);
  await t.throwsAsync(gate.close('db', 't'), { message: /already being deleted/ });
  reopen();
  t.notThrows(() => gate.enter('db', 't')());
});

test('TenantGate › closing an idle tenant › resolves at once', async (t) => {
  const gate = new TenantGate();
  const reopen = await gate.close('db', 't');
  reopen();
  t.pass();
});
