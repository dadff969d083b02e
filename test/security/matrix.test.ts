import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { rm } from 'node:fs/promises';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { startServer } from '../../src/server.js';
import { backendEnv, openRawLevel } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { eventually } from '../helpers/facts.js';
import { type Headers, type TestServer, api, makeDataDir } from '../helpers/server.js';
import { secretOf } from '../helpers/secrets.js';
import { ADMIN_KEY, type KeySpec, type Role, adminApi, bearer, createKey, expectStatus, revokeKey, startSecureServer } from './support.js';

/**
 * Every route × every kind of caller, against a table written from the spec (API.md "Keys",
 * DESIGN.md "Tenancy and security"), not from ROLE_MATRIX: the point is to check the code
 * against what it promises.
 */

// ——— The spec, restated ———

/** The least role of each operation. Public keys act as readers whatever their role. */
const LEAST_ROLE: Record<string, Role> = {
  ask: 'reader',
  'context.read': 'reader',
  'scopes.list': 'reader',
  'scopes.diff': 'reader',
  'rules.list': 'reader',
  'events.read': 'reader',
  'ops.read': 'reader',
  tell: 'writer',
  retract: 'writer',
  'rules.write': 'writer',
  'scopes.write': 'writer',
  'audit.read': 'writer',
  'admin.database': 'admin',
  'admin.global': 'admin',
};
const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

const DB = 'mx_db';
const T = 'acme';
const T2 = 'globex';
const DB2 = 'mx_other';

type Grant = readonly string[] | '*';

interface Principal {
  readonly name: string;
  /** 'valid' keys authenticate; the others must get 401. */
  readonly auth: 'valid' | 'none' | 'invalid';
  readonly role: Role;
  readonly databases: Grant;
  readonly tenants: Grant;
  readonly public: boolean;
}

/**
 * What a route acts on: a tenant of DB, the database DB as a whole, the list of databases (each
 * admin sees those of its grant), the whole service, nothing
 * in particular (any valid key of the least role), or nothing at all (public, no key needed).
 */
type Target = 'tenant' | 'database' | 'catalog' | 'global' | 'any' | 'public';

interface Cell {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Headers;
}

interface RouteCase {
  /** As the router spells it, e.g. `DELETE /scope/:name`: checked against the router's own table. */
  readonly route: string;
  readonly op: keyof typeof LEAST_ROLE | null;
  readonly target: Target;
  /** The status when the caller may do it. */
  readonly ok: number;
  /** Build the request of one cell; may create a fresh resource (with the admin key) for a delete to consume. */
  readonly cell: (url: string, n: number) => Promise<Cell>;
}

const covers = (grant: Grant, name: string) => grant === '*' || grant.includes(name);

/** The expected status of one cell, from the spec alone. */
function expected(p: Principal, r: RouteCase): number {
  if (r.target === 'public') return r.ok;
  if (p.auth !== 'valid') return 401;
  const role: Role = p.public ? 'reader' : p.role;
  if (r.op !== null && RANK[role] < RANK[LEAST_ROLE[r.op] as Role]) return 403;
  switch (r.target) {
    case 'global':
      // Keys and databases are the whole service: only an admin not limited to some databases or tenants.
      return p.databases === '*' && p.tenants === '*' ? r.ok : 403;
    case 'database':
      // A database's tenants and rules concern every tenant of it: the key must cover all of them.
      return covers(p.databases, DB) && p.tenants === '*' ? r.ok : 403;
    case 'catalog':
      return p.tenants === '*' ? r.ok : 403;
    case 'tenant':
      return covers(p.databases, DB) && covers(p.tenants, T) ? r.ok : 403;
    case 'any':
      return r.ok;
  }
}

// ——— The routes ———

const tenantHeaders: Headers = { 'X-Database': DB, 'X-Tenant-ID': T };
let fresh = 0;
const freshName = (prefix: string) => `${prefix}_${++fresh}`;

const tenantCell = (method: string, path: string, body?: unknown): RouteCase['cell'] => async () => ({ method, path, body, headers: tenantHeaders });

/** With the admin key: the tenant T, to prepare what a cell consumes. */
const rootT = (url: string) => adminApi(url).with(tenantHeaders);

const MCP_ACCEPT: Headers = { Accept: 'application/json, text/event-stream' };
const MCP_INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'security-matrix', version: '0' } },
};

const ROUTES: RouteCase[] = [
  { route: 'POST /tell', op: 'tell', target: 'tenant', ok: 200, cell: async (_u, n) => ({ method: 'POST', path: '/tell', body: { predicate: 'probe', args: [n] }, headers: tenantHeaders }) },
  { route: 'POST /retract', op: 'retract', target: 'tenant', ok: 200, cell: tenantCell('POST', '/retract', { predicate: 'probe', args: ['never-told'] }) },
  { route: 'POST /ask', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('POST', '/ask', { predicate: 'plan', args: ['?tier'] }) },
  // Its own fact, told into main after the fork: the revert and merge rows running beside it never touch it.
  { route: 'PATCH /tell', op: 'tell', target: 'tenant', ok: 200, cell: tenantCell('PATCH', '/tell', { predicate: 'patched', args: ['p'], metadata: { checked: true } }) },
  { route: 'POST /ask/batch', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('POST', '/ask/batch', { queries: [{ predicate: 'plan', args: ['?tier'] }] }) },
  { route: 'POST /aggregate', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('POST', '/aggregate', { predicate: 'plan', args: ['?tier'], operation: 'COUNT' }) },
  { route: 'POST /tx/begin', op: 'tell', target: 'tenant', ok: 201, cell: tenantCell('POST', '/tx/begin', {}) },
  // A transaction is bound to the key that opened it: any other caller that may write is told it does not exist.
  { route: 'POST /tx/:id/commit', op: 'tell', target: 'tenant', ok: 404, cell: tenantCell('POST', '/tx/tx_unknown/commit', {}) },
  { route: 'POST /tx/:id/rollback', op: 'tell', target: 'tenant', ok: 404, cell: tenantCell('POST', '/tx/tx_unknown/rollback', {}) },
  { route: 'GET /scopes', op: 'scopes.list', target: 'tenant', ok: 200, cell: tenantCell('GET', '/scopes') },
  { route: 'POST /scope/fork', op: 'scopes.write', target: 'tenant', ok: 201, cell: async () => ({ method: 'POST', path: '/scope/fork', body: { source: 'main', target: freshName('fork') }, headers: tenantHeaders }) },
  { route: 'POST /scope/diff', op: 'scopes.diff', target: 'tenant', ok: 200, cell: tenantCell('POST', '/scope/diff', { source: 'branch', target: 'main' }) },
  { route: 'POST /scope/merge', op: 'scopes.write', target: 'tenant', ok: 200, cell: tenantCell('POST', '/scope/merge', { source: 'branch', target: 'main', strategy: 'SOURCE_WINS' }) },
  { route: 'POST /scope/revert', op: 'scopes.write', target: 'tenant', ok: 200, cell: tenantCell('POST', '/scope/revert', { scope: 'branch', to: 0 }) },
  { route: 'GET /history', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('GET', '/history?predicate=plan') },
  {
    route: 'DELETE /scope/:name',
    op: 'scopes.write',
    target: 'tenant',
    ok: 200,
    cell: async (url) => {
      const scope = freshName('doomed');
      await expectStatus('fork a scope to delete', rootT(url).post('/scope/fork', { source: 'main', target: scope }), 201);
      return { method: 'DELETE', path: `/scope/${scope}`, headers: tenantHeaders };
    },
  },
  {
    route: 'POST /teach',
    op: 'rules.write',
    target: 'tenant',
    ok: 201,
    // A new rule each time: rules are a set, and the same rule again is a 200 that stores nothing.
    cell: async (_u, n) => ({ method: 'POST', path: '/teach', body: { head: { predicate: `tier_${n}`, args: ['?x'] }, body: [{ predicate: 'plan', args: ['?x'] }] }, headers: tenantHeaders }),
  },
  { route: 'POST /rules', op: 'rules.write', target: 'tenant', ok: 201, cell: async (_u, n) => ({ method: 'POST', path: '/rules', body: { text: `paying_${n}(?x) :- plan(?x).` }, headers: tenantHeaders }) },
  { route: 'GET /facts', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('GET', '/facts?limit=5') },
  { route: 'GET /predicates', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('GET', '/predicates') },
  { route: 'GET /rules', op: 'rules.list', target: 'tenant', ok: 200, cell: tenantCell('GET', '/rules') },
  {
    route: 'DELETE /rules/:id',
    op: 'rules.write',
    target: 'tenant',
    ok: 200,
    cell: async (url, n) => {
      const taught = await expectStatus('a rule to delete', rootT(url).post('/rules', { text: `doomed_${n}(?x) :- plan(?x).` }), 201);
      return { method: 'DELETE', path: `/rules/${taught.json.rules[0].id}`, headers: tenantHeaders };
    },
  },
  { route: 'POST /context/optimize', op: 'context.read', target: 'tenant', ok: 200, cell: tenantCell('POST', '/context/optimize', { maxFacts: 5 }) },
  { route: 'POST /search', op: 'ask', target: 'tenant', ok: 200, cell: tenantCell('POST', '/search', { query: 'matrix' }) },
  { route: 'POST /context/diff', op: 'context.read', target: 'tenant', ok: 200, cell: tenantCell('POST', '/context/diff', { sessionId: 'matrix-session', maxFacts: 5 }) },
  { route: 'POST /context/session/clear', op: 'context.read', target: 'tenant', ok: 200, cell: tenantCell('POST', '/context/session/clear', { sessionId: 'matrix-session' }) },
  { route: 'GET /audit', op: 'audit.read', target: 'tenant', ok: 200, cell: tenantCell('GET', '/audit?limit=5') },

  { route: 'GET /admin/databases/:db/tenants', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/databases/${DB}/tenants` }) },
  {
    route: 'POST /admin/databases/:db/tenants',
    op: 'admin.database',
    target: 'database',
    ok: 201,
    cell: async () => ({ method: 'POST', path: `/admin/databases/${DB}/tenants`, body: { name: freshName('newtenant') } }),
  },
  {
    route: 'DELETE /admin/databases/:db/tenants/:name',
    op: 'admin.database',
    target: 'database',
    ok: 200,
    cell: async (url) => {
      const name = freshName('oldtenant');
      await expectStatus('a tenant to delete', adminApi(url).post(`/admin/databases/${DB}/tenants`, { name }), 201);
      return { method: 'DELETE', path: `/admin/databases/${DB}/tenants/${name}` };
    },
  },
  { route: 'GET /admin/databases/:db/settings', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/databases/${DB}/settings` }) },
  { route: 'PUT /admin/databases/:db/settings', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'PUT', path: `/admin/databases/${DB}/settings`, body: { contextMaxFacts: 25 } }) },
  { route: 'GET /admin/databases/:db/tenants/:name/settings', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/databases/${DB}/tenants/${T}/settings` }) },
  {
    route: 'PUT /admin/databases/:db/tenants/:name/settings',
    op: 'admin.database',
    target: 'database',
    ok: 200,
    cell: async () => ({ method: 'PUT', path: `/admin/databases/${DB}/tenants/${T}/settings`, body: { contextMaxFacts: 25 } }),
  },
  { route: 'GET /admin/databases/:db/tenants/:name/export', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/databases/${DB}/tenants/${T}/export` }) },
  {
    route: 'POST /admin/databases/:db/tenants/:name/import',
    op: 'admin.database',
    target: 'database',
    ok: 201,
    cell: async () => ({
      method: 'POST',
      path: `/admin/databases/${DB}/tenants/${freshName('imported')}/import`,
      body: '{"kind":"header","format":"vesper-export","version":1,"database":"x","tenant":"y","exportedAt":0}\n{"kind":"end","scopes":0,"rules":0,"facts":0}\n',
    }),
  },
  {
    route: 'POST /admin/databases/:db/tenants/:name/purge',
    op: 'admin.database',
    target: 'database',
    ok: 200,
    cell: async () => ({ method: 'POST', path: `/admin/databases/${DB}/tenants/${freshName('purged')}/purge`, body: { match: { args: ['nobody'] } } }),
  },
  { route: 'GET /admin/usage', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/usage?database=${DB}` }) },
  { route: 'GET /admin/databases/:db/rules', op: 'admin.database', target: 'database', ok: 200, cell: async () => ({ method: 'GET', path: `/admin/databases/${DB}/rules` }) },
  {
    route: 'POST /admin/databases/:db/rules',
    op: 'admin.database',
    target: 'database',
    ok: 201,
    cell: async (_u, n) => ({ method: 'POST', path: `/admin/databases/${DB}/rules`, body: { text: `shared_${n}(?x) :- plan(?x).` } }),
  },
  {
    route: 'DELETE /admin/databases/:db/rules/:id',
    op: 'admin.database',
    target: 'database',
    ok: 200,
    cell: async (url, n) => {
      const added = await expectStatus('a database rule to delete', adminApi(url).post(`/admin/databases/${DB}/rules`, { text: `gone_${n}(?x) :- plan(?x).` }), 201);
      return { method: 'DELETE', path: `/admin/databases/${DB}/rules/${added.json.rules[0].id}` };
    },
  },

  ...(['/databases', '/admin/databases'] as const).flatMap((base): RouteCase[] => [
    { route: `POST ${base}`, op: 'admin.global', target: 'global', ok: 201, cell: async () => ({ method: 'POST', path: base, body: { name: freshName('newdb') } }) },
    // Listing is filtered by the key's databases; a key limited to some tenants is no database admin.
    { route: `GET ${base}`, op: 'admin.database', target: 'catalog', ok: 200, cell: async () => ({ method: 'GET', path: base }) },
    {
      route: `DELETE ${base}/:db`,
      op: 'admin.global',
      target: 'global',
      ok: 200,
      cell: async (url) => {
        const name = freshName('olddb');
        await expectStatus('a database to delete', adminApi(url).post('/databases', { name }), 201);
        return { method: 'DELETE', path: `${base}/${name}` };
      },
    },
  ]),

  { route: 'POST /auth/keys', op: 'admin.global', target: 'global', ok: 201, cell: async () => ({ method: 'POST', path: '/auth/keys', body: { role: 'reader', databases: [DB], tenants: [T] } }) },
  { route: 'GET /auth/keys', op: 'admin.global', target: 'global', ok: 200, cell: async () => ({ method: 'GET', path: '/auth/keys' }) },
  {
    route: 'DELETE /auth/keys/:id',
    op: 'admin.global',
    target: 'global',
    ok: 200,
    cell: async (url) => {
      const { id } = await createKey(url, { role: 'reader', description: 'to revoke' });
      return { method: 'DELETE', path: `/auth/keys/${id}` };
    },
  },

  // Streams (Server-Sent Events): the status is read from the headers, then the stream is dropped.
  { route: 'GET /events', op: 'events.read', target: 'tenant', ok: 200, cell: tenantCell('GET', '/events') },
  // MCP: opening a session needs read access to its tenant; each tool call is then authorised on its own (test/mcp).
  { route: 'POST /mcp', op: 'ask', target: 'tenant', ok: 200, cell: async () => ({ method: 'POST', path: '/mcp', body: MCP_INITIALIZE, headers: { ...tenantHeaders, ...MCP_ACCEPT } }) },
  // Streamable HTTP GET and DELETE act on a session (Mcp-Session-Id): without one they are bad input, after the key check.
  { route: 'GET /mcp', op: null, target: 'any', ok: 400, cell: async () => ({ method: 'GET', path: '/mcp', headers: { ...tenantHeaders, ...MCP_ACCEPT } }) },
  { route: 'DELETE /mcp', op: null, target: 'any', ok: 400, cell: async () => ({ method: 'DELETE', path: '/mcp', headers: tenantHeaders }) },
  { route: 'GET /mcp/sse', op: 'ask', target: 'tenant', ok: 200, cell: async () => ({ method: 'GET', path: '/mcp/sse', headers: { ...tenantHeaders, ...MCP_ACCEPT } }) },
  // Posting to a legacy session needs a key (401 without); with one, a missing sessionId is bad input.
  { route: 'POST /mcp/messages', op: null, target: 'any', ok: 400, cell: async () => ({ method: 'POST', path: '/mcp/messages', body: {}, headers: tenantHeaders }) },

  // Progressive access (the server runs with VESPER_SANDBOX=1 and no demo tenant: keyless requests still get 401 everywhere else).
  { route: 'POST /admin/claims', op: 'admin.global', target: 'global', ok: 201, cell: async () => ({ method: 'POST', path: '/admin/claims', body: {} }) },
  {
    // No key needed: the sandbox token and the claim token in the body are the credentials, whoever sends them.
    route: 'POST /claim',
    op: null,
    target: 'public',
    ok: 201,
    cell: async (url) => {
      const made = await expectStatus('a sandbox to claim', api(url).post('/tell', { predicate: 'p', args: [1] }), 200);
      const claim = await expectStatus('a claim token', adminApi(url).post('/admin/claims', {}), 201);
      return { method: 'POST', path: '/claim', body: { sandboxToken: made.headers.get('x-vesper-sandbox'), claimToken: claim.json.claimToken } };
    },
  },

  { route: 'GET /health', op: null, target: 'public', ok: 200, cell: async () => ({ method: 'GET', path: '/health' }) },
  // The API description holds no tenant data: public, like /health.
  { route: 'GET /openapi.json', op: null, target: 'public', ok: 200, cell: async () => ({ method: 'GET', path: '/openapi.json' }) },
  { route: 'GET /ready', op: 'ops.read', target: 'any', ok: 200, cell: async () => ({ method: 'GET', path: '/ready' }) },
  { route: 'GET /metrics', op: 'ops.read', target: 'any', ok: 200, cell: async () => ({ method: 'GET', path: '/metrics' }) },
];

// ——— The callers ———

type PrincipalSetup = Omit<Principal, 'name'> & { readonly name: string; readonly make: (url: string) => Promise<Headers> };

const key = (spec: KeySpec) => async (url: string) => bearer((await createKey(url, spec)).key);
const valid = (name: string, role: Role, databases: Grant, tenants: Grant, make: PrincipalSetup['make'], isPublic = false): PrincipalSetup => ({
  name,
  auth: 'valid',
  role,
  databases,
  tenants,
  public: isPublic,
  make,
});
const rejected = (name: string, auth: 'none' | 'invalid', make: PrincipalSetup['make']): PrincipalSetup => ({ name, auth, role: 'reader', databases: [], tenants: [], public: false, make });

const PRINCIPALS: PrincipalSetup[] = [
  rejected('no key', 'none', async () => ({})),
  valid('admin key', 'admin', '*', '*', async () => bearer(ADMIN_KEY)),
  valid('reader', 'reader', [DB], [T], key({ role: 'reader', databases: [DB], tenants: [T] })),
  valid('writer', 'writer', [DB], [T], key({ role: 'writer', databases: [DB], tenants: [T] })),
  valid('admin-role API key', 'admin', '*', '*', key({ role: 'admin' })),
  valid('writer of another tenant', 'writer', [DB], [T2], key({ role: 'writer', databases: [DB], tenants: [T2] })),
  valid('writer of another database', 'writer', [DB2], '*', key({ role: 'writer', databases: [DB2] })),
  valid('admin-role key of another tenant', 'admin', [DB], [T2], key({ role: 'admin', databases: [DB], tenants: [T2] })),
  valid('admin-role key of another database', 'admin', [DB2], '*', key({ role: 'admin', databases: [DB2] })),
  valid('admin-role key of this database', 'admin', [DB], '*', key({ role: 'admin', databases: [DB] })),
  valid('public key (admin role)', 'admin', [DB], [T], key({ role: 'admin', databases: [DB], tenants: [T], public: true }), true),
  rejected('revoked key', 'invalid', async (url) => {
    const created = await createKey(url, { role: 'writer', databases: [DB], tenants: [T] });
    await revokeKey(url, created.id);
    return bearer(created.key);
  }),
  rejected('expired key', 'invalid', key({ role: 'writer', databases: [DB], tenants: [T], expiresAt: Date.now() - 60_000 })),
  rejected('unknown key', 'invalid', async () => bearer(`vsp_sk_0123456789abcdef_${'A'.repeat(43)}`)),
  rejected('public token presented as secret', 'invalid', async (url) => {
    const created = await createKey(url, { role: 'reader', databases: [DB], tenants: [T], public: true });
    return bearer(created.key.replace(/^vsp_pk_/, 'vsp_sk_'));
  }),
  rejected('admin key with a typo', 'invalid', async () => bearer(`${ADMIN_KEY}x`)),
];

// ——— The tests ———

const test = anyTest as TestFn<{ server: TestServer; headers: Map<string, Headers> }>;

test.before(async (t) => {
  const server = await startSecureServer({ env: { VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '0' } });
  t.context.server = server;
  const { url } = server;
  const root = rootT(url);
  await expectStatus('create DB2', adminApi(url).post('/databases', { name: DB2 }), 201);
  await expectStatus('tell in T', root.post('/tell', { predicate: 'plan', args: ['enterprise'] }), 200);
  await expectStatus('fork branch', root.post('/scope/fork', { source: 'main', target: 'branch' }), 201);
  await expectStatus('tell in branch', root.post('/tell', { predicate: 'plan', args: ['pro'], scope: 'branch' }), 200);
  await expectStatus('tell in main after the fork', root.post('/tell', { predicate: 'patched', args: ['p'] }), 200);
  await expectStatus('tell in T2', adminApi(url).post('/tell', { predicate: 'plan', args: ['basic'] }, { 'X-Database': DB, 'X-Tenant-ID': T2 }), 200);
  t.context.headers = new Map();
  for (const p of PRINCIPALS) t.context.headers.set(p.name, await p.make(url));
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

/** One request; a reply that is an event stream is cut after its headers (its status is what counts). */
async function send(url: string, cell: Cell, auth: Headers): Promise<{ status: number; json: any; text: string }> {
  const abort = new AbortController();
  const headers: Record<string, string> = { ...auth, ...cell.headers };
  const init: RequestInit = { method: cell.method, headers, signal: abort.signal };
  if (typeof cell.body === 'string') {
    init.body = cell.body; // JSON lines (an import), sent as they are
    headers['content-type'] = 'application/x-ndjson';
  } else if (cell.body !== undefined) {
    init.body = JSON.stringify(cell.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(url + cell.path, init);
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    abort.abort();
    return { status: response.status, json: undefined, text: '(event stream)' };
  }
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

for (const route of ROUTES) {
  test(`matrix › ${route.route}`, async (t) => {
    const { url } = t.context.server;
    let n = 0;
    for (const principal of PRINCIPALS) {
      const want = expected(principal, route);
      const cell = await route.cell(url, ++n);
      const reply = await send(url, cell, t.context.headers.get(principal.name) as Headers);
      t.is(reply.status, want, `${route.route} × ${principal.name}: expected ${want}, got ${reply.status} ${reply.text.slice(0, 200)}`);
      if (want === 401) t.is(reply.json?.code, 'UNAUTHORIZED', `${route.route} × ${principal.name}: error code`);
      if (want === 403) t.is(reply.json?.code, 'FORBIDDEN', `${route.route} × ${principal.name}: error code`);
    }
  });
}

test('matrix › the table names every route the router registers, and nothing else', async (t) => {
  // The router of an app over real services (those of a second server), read without serving.
  const dataDir = await makeDataDir();
  const running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent', VESPER_ADMIN_KEY: ADMIN_KEY, ...backendEnv(dataDir) }));
  try {
    const { router } = createApp({
      services: running.services,
      logger: pino({ level: 'silent' }),
      health: { version: 'test', auth: 'enabled', ready: () => true, databases: () => ({ open: 0, maxOpen: 1, leases: 0, storageFull: false }) },
      maxBody: 1024 * 1024,
      authEnabled: true,
      rateLimit: 0,
    });
    const registered = new Set<string>();
    for (const layer of router.stack) {
      const methods = layer.methods.filter((m) => m !== 'HEAD');
      for (const method of methods) registered.add(`${method} ${String(layer.path)}`);
    }
    t.deepEqual([...registered].sort(), ROUTES.map((r) => r.route).sort());
  } finally {
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('matrix › a database admin sees only its databases in GET /databases', async (t) => {
  const { url } = t.context.server;
  const scoped = api(url, t.context.headers.get('admin-role key of this database') as Headers);
  const listed = await scoped.get('/databases');
  t.is(listed.status, 200, listed.text);
  t.deepEqual(listed.json.databases.map((d: { name: string }) => d.name), [DB]);
});

test('keys › Authorization: Bearer and X-API-Key both carry a key', async (t) => {
  const { url } = t.context.server;
  const { key: secret } = await createKey(url, { role: 'reader', databases: [DB], tenants: [T] });
  const ask = { predicate: 'plan', args: ['?tier'] };
  const viaBearer = await api(url, { Authorization: `Bearer ${secret}`, ...tenantHeaders }).post('/ask', ask);
  t.is(viaBearer.status, 200, viaBearer.text);
  const viaLowercase = await api(url, { authorization: `bearer ${secret}`, ...tenantHeaders }).post('/ask', ask);
  t.is(viaLowercase.status, 200, viaLowercase.text);
  const viaHeader = await api(url, { 'X-API-Key': secret, ...tenantHeaders }).post('/ask', ask);
  t.is(viaHeader.status, 200, viaHeader.text);
  t.true(viaHeader.json.results.length > 0, 'and reads the same tenant');
  const adminViaHeader = await api(url, { 'X-API-Key': ADMIN_KEY }).get('/auth/keys');
  t.is(adminViaHeader.status, 200, 'the admin key in X-API-Key');
  assertError(t, await api(url, { Authorization: `Basic ${secret}`, ...tenantHeaders }).post('/ask', ask), 401, 'UNAUTHORIZED');
  assertError(t, await api(url, { Authorization: 'Bearer ', ...tenantHeaders }).post('/ask', ask), 401, 'UNAUTHORIZED');
  assertError(t, await api(url, { 'X-API-Key': '', ...tenantHeaders }).post('/ask', ask), 401, 'UNAUTHORIZED');
});

test('health › works without a key and says auth is enabled', async (t) => {
  const reply = await api(t.context.server.url).get('/health');
  t.is(reply.status, 200, reply.text);
  t.is(reply.json.auth, 'enabled');
  t.is(reply.json.status, 'ok');
});

test('keys › the secret is in the create reply only; GET /auth/keys shows no key or hash', async (t) => {
  const { url } = t.context.server;
  const secretKey = await createKey(url, { role: 'writer', databases: [DB], tenants: [T], name: 'svc' });
  const publicKey = await createKey(url, { role: 'reader', databases: [DB], tenants: [T], public: true });
  t.regex(secretKey.key, /^vsp_sk_/);
  t.regex(publicKey.key, /^vsp_pk_/);
  t.regex(secretKey.id, /^key_/);
  t.is(secretKey.reply.json.hash, undefined, 'no hash in the create reply either');
  const listed = await adminApi(url).get('/auth/keys');
  t.is(listed.status, 200);
  for (const entry of listed.json.keys as Record<string, unknown>[]) {
    t.false('key' in entry, `no key field in ${String(entry.id)}`);
    t.false('hash' in entry, `no hash field in ${String(entry.id)}`);
    t.false('secret' in entry, `no secret field in ${String(entry.id)}`);
  }
  const ids = (listed.json.keys as { id: string }[]).map((k) => k.id);
  t.true(ids.includes(secretKey.id) && ids.includes(publicKey.id));
  for (const token of [secretKey.key, publicKey.key]) {
    const secretPart = secretOf(token);
    t.false(listed.text.includes(secretPart), 'the secret appears nowhere in the listing');
  }
  t.false(listed.text.includes(ADMIN_KEY));
});

test('keys › revocation is effective on the next request; revoking twice is a 404', async (t) => {
  const { url } = t.context.server;
  const { id, key: secret } = await createKey(url, { role: 'writer', databases: [DB], tenants: [T] });
  const client = api(url, { ...bearer(secret), ...tenantHeaders });
  t.is((await client.post('/ask', { predicate: 'plan', args: ['?x'] })).status, 200);
  await revokeKey(url, id);
  assertError(t, await client.post('/ask', { predicate: 'plan', args: ['?x'] }), 401, 'UNAUTHORIZED');
  assertError(t, await adminApi(url).request('DELETE', `/auth/keys/${id}`), 404, 'NOT_FOUND');
  t.false(((await adminApi(url).get('/auth/keys')).json.keys as { id: string }[]).some((k) => k.id === id));
});

test('keys › a key that expires later works until then, and not after', async (t) => {
  const { url } = t.context.server;
  // Far enough ahead that the first request is surely before it; no assertion on how long anything takes.
  const expiresAt = Date.now() + 5_000;
  const { key: secret } = await createKey(url, { role: 'reader', databases: [DB], tenants: [T], expiresAt });
  const client = api(url, { ...bearer(secret), ...tenantHeaders });
  t.is((await client.get('/scopes')).status, 200, 'before expiry');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now() + 20)));
  t.true(await eventually(async () => (await client.get('/scopes')).status === 401), 'after expiry: 401');
});

test('keys › stored hashed: the _system LevelDB holds no secret after the server closes', async (t) => {
  const server = await startSecureServer();
  const tokens = [
    (await createKey(server.url, { role: 'writer' })).key,
    (await createKey(server.url, { role: 'reader', public: true })).key,
    (await createKey(server.url, { role: 'admin', databases: ['x'] })).key,
  ];
  await server.close({ keepData: true });
  const raw = await openRawLevel(server.dataDir, '_system');
  try {
    let records = 0;
    for await (const [k, v] of raw.level.iterator()) {
      if (k.startsWith('K')) records++;
      for (const token of tokens) {
        const secretPart = secretOf(token);
        t.false(v.includes(secretPart) || k.includes(secretPart), `the stored entry ${JSON.stringify(k)} contains a secret`);
        t.false(v.includes(token));
      }
      t.false(v.includes(ADMIN_KEY), 'nor the admin key');
    }
    t.is(records, tokens.length, 'one stored record per key');
  } finally {
    await raw.close();
    await rm(server.dataDir, { recursive: true, force: true });
  }
});
