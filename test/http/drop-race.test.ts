// DELETE /databases/X racing tells, asks and forks on X (issue 12, found-item 3): every racing
// request gets a true 2xx/404/409, none hangs or is a 5xx, X ends gone or fully there, and a
// server killed meanwhile restarts with every acknowledged write of every other database.
import { rm } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { askAll } from '../helpers/facts.js';
import { type Api, type Reply, api, makeDataDir, startTestServer, tenantApi } from '../helpers/server.js';

// A deadlock never answers; a slow machine (2 cores shared by many test runs) may take seconds.
const REQUEST_TIMEOUT_MS = 20_000;

/** A request that may not hang: a reply after REQUEST_TIMEOUT_MS is a failure of the test. */
async function bounded(send: () => Promise<Reply>): Promise<Reply | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), REQUEST_TIMEOUT_MS)));
  try {
    return await Promise.race([send(), hung]);
  } finally {
    clearTimeout(timer);
  }
}

function racingRequests(client: Api, round: number, n: number): Array<() => Promise<Reply>> {
  return Array.from({ length: n }, (_, i) => {
    switch (i % 4) {
      case 0:
        return () => client.post('/tell', { facts: Array.from({ length: 20 }, (_, k) => ({ predicate: 'item', args: [round, i, k] })) });
      case 1:
        return () => client.post('/ask', { predicate: 'item', args: ['?r', '?i', '?k'], limit: 1000 });
      case 2:
        return () => client.post('/scope/fork', { source: 'main', target: `fork-${round}-${i}` });
      default:
        return () => client.post('/tell', { predicate: 'single', args: [round, i] });
    }
  });
}

test('drop race › DELETE /databases/X while X is told, asked and forked › only true 2xx/404/409 answers, no hang, X gone or fully there', async (t) => {
  const server = await startTestServer({ VESPER_MAX_OPEN_DATABASES: '4' });
  t.teardown(() => server.close());
  const admin = api(server.url);
  const statuses = new Map<string, number>();
  for (let round = 0; round < 4; round++) {
    const name = `racing-${round}`;
    const client = tenantApi(server.url, 'acme', name);
    t.is((await client.post('/tell', { facts: Array.from({ length: 200 }, (_, k) => ({ predicate: 'item', args: [-1, -1, k] })) })).status, 200);
    // Other databases keep the small pool busy, so X is closed and reopened while it is dropped.
    await tenantApi(server.url, 'acme', `other-${round % 3}`).post('/tell', { predicate: 'noise', args: [round] });
    const requests = racingRequests(client, round, 40).map((send, i) => (async () => {
      await new Promise((resolve) => setTimeout(resolve, i % 9));
      return bounded(send);
    })());
    const drop = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 3 + round));
      return bounded(() => admin.request('DELETE', `/databases/${name}`));
    })();
    const replies = await Promise.all([...requests, drop]);
    for (const reply of replies) {
      const key = reply === 'hung' ? 'hung' : `${reply.status} ${reply.json?.code ?? ''}`.trim();
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (reply !== 'hung' && reply.status >= 500) t.fail(`a 5xx: ${reply.text.slice(0, 300)}`);
    }
    const dropReply = replies.at(-1) ?? 'hung';
    t.true(dropReply !== 'hung' && [200, 204, 409].includes(dropReply.status), `the drop answered ${dropReply === 'hung' ? 'nothing' : dropReply.text}`);
    // Gone, or there and whole: a database that is listed answers reads and writes.
    const listed = (await admin.get('/databases')).json.databases.some((d: { name: string }) => d.name === name);
    const asked = await client.post('/ask', { predicate: 'item', args: ['?r', '?i', '?k'], limit: 10_000 });
    if (listed) {
      t.is(asked.status, 200, asked.text);
      t.false(asked.json.results.some((r: { args: number[] }) => r.args[0] === -1), 'a recreated database holds nothing of the dropped one');
      t.is((await client.post('/tell', { predicate: 'after', args: [round] })).status, 200);
    } else {
      t.is(asked.status, 404, asked.text);
    }
  }
  t.log(JSON.stringify([...statuses]));
  t.false(statuses.has('hung'), 'no request hung');
  t.regex((await admin.get('/metrics')).text, /^vesper_database_leases 0$/m, 'every lease was released');
  for (const key of statuses.keys()) t.regex(key, /^(200|201|204|404 NOT_FOUND|409 CONFLICT)$/);
  // And the server starts again over what the races left.
  await server.close({ keepData: true });
  const again = await startTestServer({}, { dataDir: server.dataDir });
  t.is((await tenantApi(again.url, 'acme', 'other-0').post('/ask', { predicate: 'noise', args: ['?r'] })).status, 200);
  await again.close();
});

async function spawn(t: ExecutionContext, dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const child = await spawnServer(dataDir, env);
  t.teardown(() => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

test('drop race › SIGKILL while databases are dropped under traffic › the server restarts and every acknowledged write of the other databases is there', async (t) => {
  const dataDir = await makeDataDir();
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  for (let life = 0; life < 1; life++) {
    const child = await spawn(t, dataDir, { VESPER_MAX_OPEN_DATABASES: '3' });
    const acknowledged = new Map<string, number[]>();
    let stop = false;
    const writer = async (db: string) => {
      const client = tenantApi(child.url, 'acme', db);
      for (let i = 0; !stop; i++) {
        const reply = await client.post('/tell', { predicate: 'acked', args: [life, i] }).catch(() => null);
        if (reply?.status === 200) acknowledged.set(db, [...(acknowledged.get(db) ?? []), i]);
      }
    };
    const dropper = async (j: number) => {
      for (let k = 0; !stop; k++) {
        const name = `tmp-${j}-${k}`;
        const client = tenantApi(child.url, 'acme', name);
        await client.post('/tell', { facts: Array.from({ length: 50 }, (_, x) => ({ predicate: 'x', args: [x] })) }).catch(() => null);
        const racing = [client.post('/ask', { predicate: 'x', args: ['?x'] }), client.post('/tell', { predicate: 'y', args: [k] })];
        await Promise.all([api(child.url).request('DELETE', `/databases/${name}`), ...racing].map((p) => p.catch(() => null)));
      }
    };
    const work = [writer('keep-a'), writer('keep-b'), writer('keep-c'), writer('keep-d'), dropper(0), dropper(1)];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(work);
    await child.exited;
    const restarted = await spawn(t, dataDir, { VESPER_MAX_OPEN_DATABASES: '3' });
    for (const [db, values] of acknowledged) {
      const stored = new Set((await askAll(tenantApi(restarted.url, 'acme', db), { predicate: 'acked', args: [life, '?i'] })).map((f) => f.args[1]));
      const missing = values.filter((i) => !stored.has(i));
      t.deepEqual(missing, [], `${db} lost acknowledged writes of life ${life}`);
    }
    t.true([...acknowledged.values()].every((v) => v.length > 0), 'every writer got acknowledgements');
    restarted.kill('SIGTERM');
    await restarted.exited;
  }
});
