// The one background runner: failures are reported with task and place and counted; shutdown waits for running tasks.
import test from 'ava';
import { BackgroundRunner, type TaskFailure } from '../../src/store/background.js';
import { api, startTestServer } from '../helpers/server.js';

test('BackgroundRunner › a failing task › is reported with its task, database and tenant, and counted', async (t) => {
  const failures: TaskFailure[] = [];
  const runner = new BackgroundRunner((failure) => failures.push(failure));
  runner.run('flatten', { database: 'db', tenant: 'acme' }, async () => {
    throw new Error('disk full');
  });
  runner.run('flatten', { database: 'db', tenant: 'other' }, async () => undefined);
  await runner.idle();
  t.is(failures.length, 1);
  t.like(failures[0], { task: 'flatten', database: 'db', tenant: 'acme' });
  t.is((failures[0]?.error as Error).message, 'disk full');
  t.deepEqual(runner.stats().get('flatten'), { started: 2, failed: 1 });
});

test('BackgroundRunner › stop › waits for running tasks and refuses new ones', async (t) => {
  const runner = new BackgroundRunner();
  let finished = false;
  runner.run('slow', {}, () => new Promise<void>((resolve) => setTimeout(() => resolve(void (finished = true)), 50)));
  await runner.stop();
  t.true(finished);
  t.false(runner.run('late', {}, async () => undefined));
  t.is(runner.active, 0);
});

test('GET /metrics › after a fork › counts the background flatten task', async (t) => {
  const server = await startTestServer();
  try {
    const c = api(server.url, { 'X-Tenant-ID': 'bg' });
    await c.post('/tell', { predicate: 'p', args: [1] });
    await c.post('/scope/fork', { source: 'main', target: 'f' });
    const metrics = await api(server.url).get('/metrics');
    t.regex(metrics.text, /vesper_background_tasks_total\{task="flatten",outcome="started"\} [1-9]/);
    t.regex(metrics.text, /vesper_background_tasks_running \d/);
  } finally {
    await server.close();
  }
});
