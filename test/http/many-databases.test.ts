// Many databases under a small file limit (issue 10, item 10): open LevelDB handles are bounded
// from the process's RLIMIT_NOFILE, so 300 databases under `ulimit -n 256` are all written and
// read back (on main, every database held ~4 descriptors and the ~55th first write was a 500).
import { readdir, rm } from 'node:fs/promises';
import test from 'ava';
import { spawnServer } from '../helpers/child.js';
import { assertError } from '../helpers/envelope.js';
import { type Reply, api, makeDataDir, startTestServer, tenantApi } from '../helpers/server.js';

const DATABASES = 300;
const FILE_LIMIT = 256;
const CONCURRENCY = 8;

async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await task(next++);
  }));
}

async function openDescriptors(pid: number): Promise<number | null> {
  return readdir(`/proc/${pid}/fd`).then((fds) => fds.length, () => null);
}

test(`many databases › ${DATABASES} databases under ulimit -n ${FILE_LIMIT} › every one written and read back, descriptors stay under the limit`, async (t) => {
  const dataDir = await makeDataDir();
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const child = await spawnServer(dataDir, {}, 20_000, { fileLimit: FILE_LIMIT });
  t.teardown(() => {
    if (child.process.exitCode === null) child.kill('SIGKILL');
  });
  const pid = child.process.pid ?? 0;
  let peak = 0;
  const sample = async () => (peak = Math.max(peak, (await openDescriptors(pid)) ?? 0));
  const failures: string[] = [];
  await inParallel(DATABASES, CONCURRENCY, async (i) => {
    const reply = await tenantApi(child.url, 'acme', `many-${i}`).post('/tell', { facts: [{ predicate: 'n', args: [i] }, { predicate: 'name', args: [`db-${i}`] }] });
    if (reply.status !== 200) failures.push(`tell ${i}: ${reply.status} ${reply.text.slice(0, 200)}`);
    if (i % 20 === 0) await sample();
  });
  await inParallel(DATABASES, CONCURRENCY, async (i) => {
    const reply = await tenantApi(child.url, 'acme', `many-${i}`).post('/ask', { predicate: 'n', args: ['?n'] });
    if (reply.status !== 200 || reply.json.results[0]?.args[0] !== i) failures.push(`ask ${i}: ${reply.status} ${reply.text.slice(0, 200)}`);
    if (i % 20 === 0) await sample();
  });
  t.deepEqual(failures.slice(0, 5), []);
  const listed = await api(child.url).get('/databases');
  t.is(listed.status, 200, 'listing databases still works');
  t.is(listed.json.databases.length, DATABASES + 1);
  const metrics = (await api(child.url).get('/metrics')).text;
  const open = Number(/^vesper_open_databases (\d+)$/m.exec(metrics)?.[1]);
  const limit = Number(/^vesper_open_databases_limit (\d+)$/m.exec(metrics)?.[1]);
  t.true(open <= limit && limit < DATABASES, `open ${open}, limit ${limit}`);
  if (peak > 0) t.true(peak < FILE_LIMIT, `peak descriptors ${peak}`);
  t.log(`open databases ${open} of at most ${limit}; peak descriptors ${peak} under ulimit -n ${FILE_LIMIT}`);
  child.kill('SIGTERM');
  t.like(await child.exited, { code: 0 });
});

test('many databases › every open slot held by a request in flight › another database gets 503 TOO_MANY_OPEN_DATABASES with Retry-After, nothing else fails', async (t) => {
  const server = await startTestServer({ VESPER_MAX_OPEN_DATABASES: '1' });
  t.teardown(() => server.close());
  const busy = tenantApi(server.url, 'acme', 'busy');
  const other = tenantApi(server.url, 'acme', 'other');
  t.is((await other.post('/tell', { predicate: 'p', args: [1] })).status, 200);
  // The busy database's lease is held by a rule evaluation that yields to the event loop while it
  // runs (cooperative evaluation), so asks to the other database are answered meanwhile: they need
  // the only slot and must be refused, not queued.
  const chain = Array.from({ length: 250 }, (_, i) => ({ predicate: 'edge', args: [i, i + 1] }));
  t.is((await busy.post('/tell', { facts: chain })).status, 200);
  t.is((await busy.post('/rules', { text: 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).' })).status, 201);
  const seen = new Map<string, number>();
  let refusal: Reply | null = null;
  for (let attempt = 0; attempt < 5 && refusal === null; attempt++) {
    let done = false;
    // limit 10,000 > 250 leading values: the whole closure is evaluated (a small limit would stop early).
    const heavy = busy.post('/ask', { predicate: 'reach', args: ['?x', '?y'], limit: 10_000 }).finally(() => (done = true));
    const asks: Promise<Reply>[] = [];
    while (!done) {
      asks.push(other.post('/ask', { predicate: 'p', args: ['?x'] }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const reply of [await heavy, ...(await Promise.all(asks))]) {
      seen.set(String(reply.status), (seen.get(String(reply.status)) ?? 0) + 1);
      if (reply.status === 503) refusal ??= reply;
    }
  }
  t.log(JSON.stringify([...seen]));
  t.deepEqual([...seen.keys()].filter((s) => s !== '200' && s !== '503'), [], 'only 200 and 503');
  if (refusal === null) return t.fail('no request was refused: the slot was never held long enough');
  assertError(t, refusal, 503, 'TOO_MANY_OPEN_DATABASES');
  t.is(refusal.headers.get('retry-after'), '1');
  t.is((await other.post('/ask', { predicate: 'p', args: ['?x'] })).status, 200, 'once the slot is free the database opens');
});
