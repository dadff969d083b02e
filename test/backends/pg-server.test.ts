// The server on PostgreSQL (VESPER_BACKEND=postgres): data survives a restart, a dropped database's
// table is gone, and PostgreSQL's failures reach clients typed (503 + Retry-After for a lost
// connection or a "try again", 507 for its full disk), never a 500. A start against no server is one
// log line and exit 1. Needs a server (VESPER_TEST_PG_URL, `npm run pg:up`) except the start test.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { errorEnvelopeOf } from '../../src/mcp/tool-result.js';
import { PgClient } from '../../src/store/backends/pg-client.js';
import { toLevelError } from '../../src/store/backends/pg-errors.js';
import { TEST_PG_URL } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { freePort } from '../helpers/child.js';
import { askAll, eventually } from '../helpers/facts.js';
import { api, startTestServer, tenantApi } from '../helpers/server.js';
import { dropTablesWithPrefix } from './pg-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const url = TEST_PG_URL;
const prefix = `s${Date.now().toString(36)}_`;
let servers = 0;
const pgTest = url ? test.serial : test.skip;

/** Env of a server on PostgreSQL with tables of its own (`n` names them, so a restart can reuse them). */
function pgEnv(n: number, pgUrl = url ?? ''): Record<string, string> {
  return { VESPER_BACKEND: 'postgres', VESPER_PG_URL: pgUrl, VESPER_PG_TABLE_PREFIX: `${prefix}${n}_`, VESPER_PG_POOL: '2' };
}

/** Every table of this file's servers, and the client that reads them. */
const admin = url ? new PgClient({ url, tablePrefix: prefix, poolSize: 2 }) : null;
test.after.always(async () => {
  if (!admin) return;
  await dropTablesWithPrefix(admin, prefix);
  await admin.end();
});

/** The tables of the logical databases of server n (not its rate-limit table, <prefix>rate_limits). */
async function tablesOf(n: number): Promise<string[]> {
  if (!admin) return [];
  const rows = await admin.sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND starts_with(table_name, ${`${prefix}${n}_`}) ORDER BY table_name`;
  return rows.map((row) => row.table_name).filter((name) => name !== `${prefix}${n}_rate_limits`);
}

/** A TCP relay to the PostgreSQL primary that the test can cut (every connection reset, new ones refused) and restore. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The primary of the URL: the host whose server is not in recovery. */
async function primaryOf(pgUrl: string): Promise<{ host: string; port: number; rest: string; user: string }> {
  const parsed = /^postgres(?:ql)?:\/\/([^@/]*@)?([^/]+)(\/.*)$/.exec(pgUrl);
  if (!parsed) throw new Error(`cannot parse ${pgUrl}`);
  const user = parsed[1] ?? '';
  for (const hostPort of (parsed[2] ?? '').split(',')) {
    const [host = '127.0.0.1', port = '5432'] = hostPort.split(':');
    const probe = new PgClient({ url: `postgres://${user}${host}:${port}${parsed[3]}`, poolSize: 1 });
    try {
      const [row] = await probe.sql<{ recovering: boolean }[]>`SELECT pg_is_in_recovery() AS recovering`;
      if (row && !row.recovering) return { host, port: Number(port), rest: parsed[3] ?? '', user };
    } finally {
      await probe.end();
    }
  }
  throw new Error(`no primary in ${pgUrl}`);
}

test('PostgreSQL backend › start with no server at VESPER_PG_URL › one fatal log line naming the server, no stack trace, exit 1', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', VESPER_BACKEND: 'postgres', VESPER_PG_URL: 'postgres://someone:secret@127.0.0.1:1/nowhere' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.is(code, 1, output);
  const lines = output.trim().split('\n');
  t.is(lines.length, 1, output);
  const line = JSON.parse(lines[0] ?? '{}');
  t.is(line.level, 60);
  t.regex(line.msg, /^cannot start: PostgreSQL at 127\.0\.0\.1:1\/nowhere cannot be used \(connect ECONNREFUSED 127\.0\.0\.1:1\)/);
  t.false(output.includes('secret'), 'the password in the URL is never logged');
});

test('PostgreSQL backend › configuration › leveldb by default; postgres needs a postgres:// URL; the prefix is a safe identifier', (t) => {
  t.deepEqual(loadConfig({}).backend, { kind: 'leveldb' });
  t.deepEqual(loadConfig({ VESPER_BACKEND: 'postgres', VESPER_PG_URL: 'postgres://v@a:1,b:2/db' }).backend, { kind: 'postgres', url: 'postgres://v@a:1,b:2/db', tablePrefix: 'vesper_', poolSize: 10, eventPollMs: 250 });
  t.throws(() => loadConfig({ VESPER_BACKEND: 'postgres' }), { message: /VESPER_BACKEND=postgres needs VESPER_PG_URL/ });
  t.throws(() => loadConfig({ VESPER_BACKEND: 'postgres', VESPER_PG_URL: 'mysql://x/y' }), { message: /VESPER_PG_URL must be a postgres:\/\/ URL/ });
  t.throws(() => loadConfig({ VESPER_BACKEND: 'postgres', VESPER_PG_URL: 'postgres://x/y', VESPER_PG_TABLE_PREFIX: 'a; drop' }), { message: /VESPER_PG_TABLE_PREFIX/ });
  t.throws(() => loadConfig({ VESPER_BACKEND: 'sqlite' }), { message: /VESPER_BACKEND/ });
});

test('PostgreSQL backend › a PostgreSQL failure reaching an MCP tool result › the typed envelope, not INTERNAL_ERROR', (t) => {
  const lost = toLevelError(Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }));
  t.like(errorEnvelopeOf(lost), { code: 'STORAGE_UNAVAILABLE', type: 'ServiceUnavailableException', details: { reason: 'connection', retryAfterSeconds: 1 } });
});

pgTest('PostgreSQL backend › facts told, server restarted over the same tables, a database dropped › facts kept, the dropped table gone', async (t) => {
  const n = servers++;
  const first = await startTestServer(pgEnv(n));
  const acme = tenantApi(first.url, 'acme', 'production');
  t.is((await acme.post('/tell', { facts: [{ predicate: 'plan', args: ['enterprise'] }, { predicate: 'seats', args: ['acme', 120] }] })).status, 200);
  t.is((await tenantApi(first.url, 'acme', 'staging').post('/tell', { predicate: 'plan', args: ['trial'] })).status, 200);
  await first.close();
  t.is((await tablesOf(n)).length, 4, 'the system database, default, production and staging: one table each');

  const second = await startTestServer(pgEnv(n));
  t.teardown(() => second.close());
  const again = tenantApi(second.url, 'acme', 'production');
  t.deepEqual((await askAll(again, { predicate: 'seats', args: ['acme', '?n'] })).map((f) => f.args), [['acme', 120]]);
  t.deepEqual((await api(second.url).get('/databases')).json.databases.map((d: { name: string }) => d.name), ['default', 'production', 'staging']);
  t.is((await api(second.url).request('DELETE', '/databases/staging')).status, 200);
  t.is((await tablesOf(n)).length, 3, 'DROP TABLE of the dropped database');
  t.deepEqual((await askAll(again, { predicate: 'plan', args: ['?p'] })).map((f) => f.args), [['enterprise']]);
});

pgTest('PostgreSQL backend › the connection to PostgreSQL cut, then restored › 503 STORAGE_UNAVAILABLE with Retry-After for reads and writes, then 200 again', async (t) => {
  const primary = await primaryOf(url ?? '');
  const relay = new Relay(await freePort(), primary);
  await relay.up();
  const n = servers++;
  const server = await startTestServer(pgEnv(n, `postgres://${primary.user}127.0.0.1:${relay.port}${primary.rest}`));
  t.teardown(async () => {
    await relay.up().catch(() => undefined);
    await server.close();
    await relay.cut();
  });
  const acme = tenantApi(server.url, 'acme');
  t.is((await acme.post('/tell', { predicate: 'plan', args: ['enterprise'] })).status, 200);

  await relay.cut();
  const write = await acme.post('/tell', { predicate: 'plan', args: ['trial'] });
  assertError(t, write, 503, 'STORAGE_UNAVAILABLE');
  t.is(write.headers.get('retry-after'), '1');
  t.is(write.json.details.reason, 'connection');
  const read = await acme.post('/ask', { predicate: 'plan', args: ['?p'] });
  assertError(t, read, 503, 'STORAGE_UNAVAILABLE');
  t.is(read.headers.get('retry-after'), '1');

  await relay.up();
  t.true(await eventually(async () => (await acme.post('/tell', { predicate: 'plan', args: ['pro'] })).status === 200, 5000, 100), 'writes work again once the server is reachable');
  t.deepEqual((await askAll(acme, { predicate: 'plan', args: ['?p'] })).map((f) => f.args[0]).sort(), ['enterprise', 'pro']);
});

pgTest('PostgreSQL backend › the server refuses writes with serialization_failure, then disk_full › 503 with Retry-After, then 507; writes resume once it accepts them', async (t) => {
  const n = servers++;
  const server = await startTestServer(pgEnv(n));
  t.teardown(() => server.close());
  const acme = tenantApi(server.url, 'acme', 'production');
  t.is((await acme.post('/tell', { predicate: 'plan', args: ['enterprise'] })).status, 200);
  const sql = admin?.sql;
  if (!sql) return;
  const naming = new PgClient({ url: url ?? '', tablePrefix: `${prefix}${n}_` });
  const table = naming.tableName('production');
  await naming.end();
  // A statement trigger stands in for the server's own refusals: it fails every write with the SQLSTATE given.
  const refuseWith = async (state: string) => {
    await sql.unsafe(`CREATE OR REPLACE FUNCTION ${table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected by the test' USING ERRCODE = '${state}'; END $$`);
    await sql.unsafe(`CREATE OR REPLACE TRIGGER ${table}_refuse BEFORE INSERT OR UPDATE OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_refuse()`);
  };

  await refuseWith('40001');
  const conflict = await acme.post('/tell', { predicate: 'plan', args: ['trial'] });
  assertError(t, conflict, 503, 'STORAGE_UNAVAILABLE');
  t.is(conflict.headers.get('retry-after'), '1');
  t.is(conflict.json.details.reason, 'try-again');

  await refuseWith('53100');
  const full = await acme.post('/tell', { predicate: 'plan', args: ['trial'] });
  assertError(t, full, 507, 'STORAGE_FULL');
  t.is(full.json.details.database, 'production');
  t.deepEqual((await askAll(acme, { predicate: 'plan', args: ['?p'] })).map((f) => f.args), [['enterprise']], 'reads keep working; nothing refused was stored');

  await sql.unsafe(`DROP TRIGGER ${table}_refuse ON ${table}`);
  t.true(await eventually(async () => (await acme.post('/tell', { predicate: 'plan', args: ['pro'] })).status === 200, 5000, 100), 'writes resume by themselves');
  t.deepEqual((await askAll(acme, { predicate: 'plan', args: ['?p'] })).map((f) => f.args[0]).sort(), ['enterprise', 'pro']);
});
