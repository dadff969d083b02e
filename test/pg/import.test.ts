// Issue 13 on shared storage: an import into a tenant through one process, while another serves
// that tenant. The other process must not undo an import that is still running (it answers 409, as
// the importing process does); once the importing process is dead, the other one undoes what it
// left at its next request to the tenant. PostgreSQL only: two processes cannot share a LevelDB.
import { PgClient } from '../../src/store/backends/pg-client.js';
import { lockKey } from '../../src/store/backends/pg-coordination.js';
import { TEST_PG_URL, openRawLevel } from '../helpers/backend.js';
import { spawnServer } from '../helpers/child.js';
import { askAll, uniqueName } from '../helpers/facts.js';
import { exportOf, keysNaming, rawTenant, seedSource, startImport } from '../helpers/import.js';
import { type Api, tenantApi } from '../helpers/server.js';
import { twoServers } from './support.js';

const env = { VESPER_RATE_LIMIT: '0' };
const test = twoServers(env);

/** Wait until the import's chunks (its sessions among them) are committed: read straight from the shared tables. */
async function committed(dataDir: string, tenant: string): Promise<number> {
  for (let tries = 0; tries < 600; tries++) {
    const raw = await openRawLevel(dataDir, 'default');
    try {
      const seen = await rawTenant(raw.level, tenant);
      if (seen.sessions > 0) return seen.keys.length;
    } finally {
      await raw.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the import never committed its sessions');
}

async function keyCount(dataDir: string, tenant: string): Promise<number> {
  const raw = await openRawLevel(dataDir, 'default');
  try {
    return (await rawTenant(raw.level, tenant)).keys.length;
  } finally {
    await raw.close();
  }
}

const items = async (client: Api) => (await askAll(client, { predicate: 'item', args: ['?i', '?g'], scope: null })).map((r) => JSON.stringify(r.args)).sort();

test('import through A while B serves the tenant › B answers 409 and collects nothing; the import completes and both answer as the source', async (t) => {
  const { a, b, dataDir } = t.context;
  const [source, target] = [uniqueName('src'), uniqueName('dst')];
  await seedSource(a.url, source, 220);
  const lines = (await exportOf(a.url, source)).trim().split('\n');
  const importing = startImport(a.url, target, `${lines.slice(0, -1).join('\n')}\n`);
  const written = await committed(dataDir, target);
  for (const request of [() => tenantApi(b.url, target).post('/ask', { predicate: 'item', args: ['?i', '?g'] }), () => tenantApi(b.url, target).post('/tell', { predicate: 'late', args: [1] })]) {
    const reply = await request();
    t.is(reply.status, 409, reply.text);
    t.regex(reply.json.message, /being imported/);
  }
  t.true((await keyCount(dataDir, target)) >= written, 'B removed nothing of the running import');
  const reply = await importing.finish(`${lines.at(-1)}\n`);
  t.is(reply.status, 201, reply.text);
  const expected = await items(tenantApi(a.url, source));
  t.is(expected.length, 6_000 + 6_050, 'main, and alt: main\'s facts under its own');
  t.deepEqual(await items(tenantApi(b.url, target)), expected);
  t.deepEqual(await items(tenantApi(a.url, target)), expected);
});

test('a third process dies while it imports › B undoes the import at its next request to the tenant; nothing of it stays', async (t) => {
  const { b, dataDir } = t.context;
  const [source, target] = [uniqueName('src'), uniqueName('dst')];
  const c = await spawnServer(dataDir, env, 60_000);
  try {
    await seedSource(c.url, source, 220);
    const lines = (await exportOf(c.url, source)).trim().split('\n');
    startImport(c.url, target, `${lines.slice(0, -1).join('\n')}\n`);
    await committed(dataDir, target);
    t.is((await tenantApi(b.url, target).post('/ask', { predicate: 'item', args: ['?i', '?g'] })).status, 409, 'B refuses while C imports');
  } finally {
    c.kill('SIGKILL');
    await c.exited;
  }
  // PostgreSQL releases C's lock once it sees the connection closed: until then B still answers 409.
  let status = 409;
  for (let tries = 0; status === 409 && tries < 100; tries++) {
    const reply = await tenantApi(b.url, target).post('/ask', { predicate: 'item', args: ['?i', '?g'] });
    status = reply.status;
    if (status === 200) t.deepEqual(reply.json.results, []);
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(status, 200);
  const raw = await openRawLevel(dataDir, 'default');
  try {
    t.deepEqual(await keysNaming(raw.level, target), [], 'no raw key names the tenant of the dead import');
  } finally {
    await raw.close();
  }
});

test('the importing process loses its lock (its connection is ended) › B undoes the import, and A refuses to install its layout over it (503)', async (t) => {
  const { a, b, dataDir } = t.context;
  const [source, target] = [uniqueName('src'), uniqueName('dst')];
  await seedSource(a.url, source, 220);
  const lines = (await exportOf(a.url, source)).trim().split('\n');
  const importing = startImport(a.url, target, `${lines.slice(0, -1).join('\n')}\n`);
  await committed(dataDir, target);
  // A waits for the end line, holding the import's advisory lock: end that connection. Only that one: other
  // test files run at once on the same server, and their processes hold tenant write locks.
  const key = BigInt.asUintN(64, BigInt(lockKey('default', target, 'import')));
  const [high, low] = [Number(key >> 32n), Number(key & 0xffffffffn)];
  const admin = new PgClient({ url: TEST_PG_URL as string, poolSize: 1, snapshotPoolSize: 1 });
  try {
    const ended = await admin.sql`SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND classid = ${high} AND objid = ${low} AND objsubid = 1 AND pid <> pg_backend_pid()`;
    t.is(ended.length, 1);
  } finally {
    await admin.end();
  }
  let status = 409;
  for (let tries = 0; status === 409 && tries < 100; tries++) {
    status = (await tenantApi(b.url, target).post('/ask', { predicate: 'item', args: ['?i', '?g'] })).status;
    if (status === 409) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(status, 200, 'B undid the import once its lock was gone');
  const reply = await importing.finish(`${lines.at(-1)}\n`);
  t.is(reply.status, 503, reply.text);
  t.deepEqual(await items(tenantApi(a.url, target)), []);
  t.deepEqual(await items(tenantApi(b.url, target)), []);
  const raw = await openRawLevel(dataDir, 'default');
  try {
    t.deepEqual(await keysNaming(raw.level, target), []);
  } finally {
    await raw.close();
  }
});
