import anyTest, { type TestFn } from 'ava';
import { OPERATIONS, isHandled } from '../../src/operations/index.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

const ADMIN_KEY = 'replies-admin-key-0123456789';
const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  // With auth and sandboxes on: a keyless tell makes the sandbox that claimSandbox turns into a tenant.
  t.context.server = await startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY, VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '0' });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

/** One request per operation (path with its parameters filled in), in an order that gives each something to act on. */
const REQUESTS: [name: string, method: string, path: string, body?: unknown][] = [
  ['health', 'GET', '/health'],
  ['ready', 'GET', '/ready'],
  ['createDatabase', 'POST', '/databases', { name: 'shapes' }],
  ['listDatabases', 'GET', '/databases'],
  ['createTenant', 'POST', '/admin/databases/shapes/tenants', { name: 'acme' }],
  ['listTenants', 'GET', '/admin/databases/shapes/tenants'],
  ['tell', 'POST', '/tell', { facts: [{ predicate: 'parent', args: ['a', 'b'] }, { predicate: 'parent', args: ['b', 'c'], ttl: 60_000, metadata: { by: 'test' } }] }],
  ['ask', 'POST', '/ask', { predicate: 'parent', args: ['?x', '?y'], limit: 1 }],
  ['patchFact', 'PATCH', '/tell', { predicate: 'parent', args: ['a', 'b'], confidence: 0.7 }],
  ['askBatch', 'POST', '/ask/batch', { queries: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: '?bad' }] }],
  ['aggregate', 'POST', '/aggregate', { predicate: 'parent', args: ['?x', '?y'], operation: 'COUNT', groupBy: ['x'] }],
  ['addRules', 'POST', '/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).' }],
  ['teach', 'POST', '/teach', { head: { predicate: 'gp', args: ['?x', '?z'] }, body: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }] }],
  ['listRules', 'GET', '/rules'],
  ['listFacts', 'GET', '/facts?limit=1'],
  ['listPredicates', 'GET', '/predicates'],
  ['search', 'POST', '/search', { query: 'parent', limit: 3 }],
  ['forkScope', 'POST', '/scope/fork', { source: 'main', target: 'alt' }],
  ['diffScopes', 'POST', '/scope/diff', { source: 'alt', target: 'main' }],
  ['mergeScopes', 'POST', '/scope/merge', { source: 'alt', target: 'main' }],
  ['listScopes', 'GET', '/scopes'],
  ['history', 'GET', '/history?predicate=parent&args=%5B%22a%22%2C%22b%22%5D'],
  ['revertScope', 'POST', '/scope/revert', { scope: 'main', to: 0 }],
  ['deleteScope', 'DELETE', '/scope/alt'],
  ['contextOptimize', 'POST', '/context/optimize', { sessionId: 's', goals: [{ predicate: 'gp', args: ['?x', '?z'] }] }],
  ['contextDiff', 'POST', '/context/diff', { sessionId: 's' }],
  ['contextSessionClear', 'POST', '/context/session/clear', { sessionId: 's' }],
  ['retract', 'POST', '/retract', { predicate: 'parent', args: ['a', '?'] }],
  ['readAudit', 'GET', '/audit?limit=5'],
  ['addDatabaseRules', 'POST', '/admin/databases/shapes/rules', { text: 'sibling(?a, ?b) :- parent(?p, ?a), parent(?p, ?b), ?a != ?b.' }],
  ['listDatabaseRules', 'GET', '/admin/databases/shapes/rules'],
  ['putDatabaseSettings', 'PUT', '/admin/databases/shapes/settings', { tier: 'pro' }],
  ['getDatabaseSettings', 'GET', '/admin/databases/shapes/settings'],
  ['putTenantSettings', 'PUT', '/admin/databases/shapes/tenants/acme/settings', { maxFacts: 100 }],
  ['getTenantSettings', 'GET', '/admin/databases/shapes/tenants/acme/settings'],
  ['readUsage', 'GET', '/admin/usage?database=shapes'],
  ['createKey', 'POST', '/auth/keys', { role: 'reader', tenants: ['acme'] }],
  ['listKeys', 'GET', '/auth/keys'],
  ['issueClaim', 'POST', '/admin/claims', {}],
];

test('replies › every operation with a handler › answers over HTTP with the shape its row declares', async (t) => {
  const client = api(t.context.server.url, { 'X-Tenant-ID': 'acme', 'X-Database': 'shapes', Authorization: `Bearer ${ADMIN_KEY}` });
  const byName = new Map(OPERATIONS.filter(isHandled).map((op) => [op.name, op]));
  const checked = new Set<string>();
  const check = async (name: string, method: string, path: string, body?: unknown) => {
    const op = byName.get(name);
    if (!op) return t.fail(`no operation ${name}`);
    const reply = await client.request(method, path, body);
    t.true(op.statuses.includes(reply.status), `${name}: status ${reply.status} ${reply.text.slice(0, 300)}`);
    const parsed = op.output.safeParse(reply.json);
    t.true(parsed.success, `${name}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}`);
    checked.add(name);
    return reply.json;
  };
  for (const [name, method, path, body] of REQUESTS) await check(name, method, path, body);
  const begun = await check('txBegin', 'POST', '/tx/begin', {});
  await check('txCommit', 'POST', `/tx/${begun.transactionId}/commit`, {});
  const again = await check('txBegin', 'POST', '/tx/begin', {});
  await check('txRollback', 'POST', `/tx/${again.transactionId}/rollback`, {});
  const rules = await client.get('/rules');
  const tenantRule = rules.json.rules.find((r: { system: boolean }) => !r.system);
  await check('deleteRule', 'DELETE', `/rules/${tenantRule.id}`);
  const dbRule = (await client.get('/admin/databases/shapes/rules')).json.rules[0];
  await check('deleteDatabaseRule', 'DELETE', `/admin/databases/shapes/rules/${dbRule.id}`);
  const key = (await client.get('/auth/keys')).json.keys[0];
  await check('revokeKey', 'DELETE', `/auth/keys/${key.id}`);
  const sandbox = await api(t.context.server.url).post('/tell', { predicate: 'p', args: [1] });
  const claim = await client.post('/admin/claims', {});
  await check('claimSandbox', 'POST', '/claim', { sandboxToken: sandbox.headers.get('x-vesper-sandbox'), claimToken: claim.json.claimToken });
  await check('purgeTenant', 'POST', '/admin/databases/shapes/tenants/acme/purge', { match: { args: ['nobody'] } });
  await check('deleteTenant', 'DELETE', '/admin/databases/shapes/tenants/acme');
  await check('deleteDatabase', 'DELETE', '/databases/shapes');
  t.deepEqual([...checked].sort(), [...byName.keys()].sort(), 'every operation was checked');
});
