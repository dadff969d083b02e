// Issue 16: several Vesper processes on one PostgreSQL agree. Two real server processes over the
// same tables (same data directory, hence same table prefix: helpers/backend.ts), each with its own
// caches; whatever one process did is what the other answers from its next request on. PostgreSQL
// only (`npm run test:pg`): two processes cannot share a LevelDB directory.
import type { ChildServer } from '../helpers/child.js';
import { uniqueName } from '../helpers/facts.js';
import { type Api, api } from '../helpers/server.js';
import { ADMIN_KEY, bearer } from '../security/support.js';
import { twoServers } from './support.js';

// Unlimited by default; the tier `pair` (6 requests per 10 minutes) is picked by one test's tenant.
const env = { VESPER_ADMIN_KEY: ADMIN_KEY, VESPER_RATE_LIMIT: '0', VESPER_AUTH_FAILURE_LIMIT: '0', VESPER_TIERS: 'pair=6/600' };

const test = twoServers(env);

const admin = (server: ChildServer, tenant: string): Api => api(server.url, { ...bearer(ADMIN_KEY), 'X-Tenant-ID': tenant });
const askArgs = async (client: Api, predicate: string) => {
  const reply = await client.post('/ask', { predicate, args: ['?x'] });
  return { status: reply.status, args: (reply.json?.results ?? []).map((r: { args: unknown[] }) => r.args[0]) };
};

test('a write through A is visible through B at once, and B writes on what A wrote', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('seen');
  // B reads the tenant first, so it has caches of it (scopes, ranges) that A's writes make stale.
  t.is((await admin(a, tenant).post('/tell', { predicate: 'colour', args: ['red'] })).status, 200);
  t.deepEqual((await askArgs(admin(b, tenant), 'colour')).args, ['red']);
  const seen = ['red'];
  for (const colour of ['green', 'blue']) {
    t.is((await admin(a, tenant).post('/tell', { predicate: 'colour', args: [colour] })).status, 200);
    seen.push(colour);
    t.deepEqual((await askArgs(admin(b, tenant), 'colour')).args.sort(), [...seen].sort());
  }
  t.is((await admin(b, tenant).post('/retract', { predicate: 'colour', args: ['red'] })).status, 200);
  t.deepEqual((await askArgs(admin(a, tenant), 'colour')).args.sort(), ['blue', 'green']);
});

test('a key revoked in A is refused by B on its next request', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('revoked');
  const created = await api(a.url, bearer(ADMIN_KEY)).post('/auth/keys', { role: 'writer', tenants: [tenant] });
  t.is(created.status, 201);
  const key: string = created.json.key;
  const client = api(b.url, { ...bearer(key), 'X-Tenant-ID': tenant });
  t.is((await client.post('/tell', { predicate: 'p', args: [1] })).status, 200, 'B knows a key A created');
  t.is((await api(a.url, bearer(ADMIN_KEY)).request('DELETE', `/auth/keys/${created.json.id}`)).status, 200);
  t.is((await client.post('/ask', { predicate: 'p', args: ['?x'] })).status, 401);
});

test('a tenant deleted in A is gone in B, and written again through B it starts empty', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('deleted');
  t.is((await admin(b, tenant).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  t.deepEqual((await askArgs(admin(b, tenant), 'p')).args, [1]);
  t.is((await api(a.url, bearer(ADMIN_KEY)).request('DELETE', `/admin/databases/default/tenants/${tenant}`)).status, 200);
  const listed = await api(b.url, bearer(ADMIN_KEY)).get('/admin/databases/default/tenants');
  t.is(listed.status, 200);
  t.false(JSON.stringify(listed.json).includes(tenant), 'B does not list the tenant');
  // B had the tenant's facts cached (the ask above): it answers from the table as it is now.
  t.deepEqual(await askArgs(admin(b, tenant), 'p'), { status: 200, args: [] });
  t.is((await api(b.url, bearer(ADMIN_KEY)).request('DELETE', `/admin/databases/default/tenants/${tenant}`)).status, 404, 'B cannot delete it again');
  t.is((await admin(b, tenant).post('/tell', { predicate: 'q', args: [2] })).status, 200);
  t.deepEqual((await askArgs(admin(a, tenant), 'p')).args, []);
  t.deepEqual((await askArgs(admin(a, tenant), 'q')).args, [2]);
});

test('contradicting tells through A and B at once: exactly one 409, and event numbers unique and increasing', async (t) => {
  const { a, b } = t.context;
  const rounds = 12;
  for (let round = 0; round < rounds; round++) {
    const tenant = uniqueName(`race${round}`);
    t.is((await admin(a, tenant).post('/tell', { predicate: 'seed', args: [0] })).status, 200);
    const [yes, no] = await Promise.all([
      admin(a, tenant).post('/tell', { predicate: 'open', args: ['door'] }),
      admin(b, tenant).post('/tell', { predicate: 'open', args: ['door'], negated: true }),
    ]);
    t.deepEqual([yes.status, no.status].sort(), [200, 409], `round ${round}: ${yes.text} / ${no.text}`);
  }
  // Many concurrent writes of one tenant through both processes: every event has its own number.
  const tenant = uniqueName('events');
  const writes = Array.from({ length: 40 }, (_, i) => admin(i % 2 === 0 ? a : b, tenant).post('/tell', { predicate: 'n', args: [i] }));
  t.deepEqual((await Promise.all(writes)).map((r) => r.status), Array(40).fill(200));
  const audit = await admin(b, tenant).get('/audit?limit=1000');
  t.is(audit.status, 200);
  const seqs: number[] = audit.json.events.filter((e: { op: string }) => e.op === 'told').map((e: { seq: number }) => e.seq);
  t.is(seqs.length, 40);
  t.is(new Set(seqs).size, 40, 'no number given twice');
  t.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in log order');
  t.deepEqual((await askArgs(admin(a, tenant), 'n')).args.sort((x: number, y: number) => x - y), Array.from({ length: 40 }, (_, i) => i));
});

test("a tenant's request budget is one budget across both processes", async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('budget');
  t.is((await admin(a, tenant).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  t.is((await api(a.url, bearer(ADMIN_KEY)).request('PUT', `/admin/databases/default/tenants/${tenant}/settings`, { tier: 'pair' })).status, 200);
  const statuses: number[][] = [[], []];
  for (let i = 0; i < 12; i++) statuses[i % 2]?.push((await admin(i % 2 === 0 ? a : b, tenant).post('/ask', { predicate: 'p', args: ['?x'] })).status);
  const all = statuses.flat();
  t.is(all.filter((s) => s === 200).length, 6, `A: ${statuses[0]}, B: ${statuses[1]}`);
  t.is(all.filter((s) => s === 429).length, 6);
  t.true(statuses.every((mine) => mine.includes(429)), 'each process refuses once the shared budget is spent');
});

test('a rule taught through A is used by B, whose program of the tenant was cached', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('rules');
  t.is((await admin(a, tenant).post('/tell', { predicate: 'parent', args: ['ann', 'bob'] })).status, 200);
  const ancestors = async (server: ChildServer) => ((await admin(server, tenant).post('/ask', { predicate: 'ancestor', args: ['?x', '?y'] })).json.results as { args: unknown[] }[]).map((r) => r.args);
  t.deepEqual(await ancestors(b), [], 'no rule yet (B reads and caches the tenant\'s rules)');
  t.is((await admin(a, tenant).post('/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).' })).status, 201);
  t.deepEqual(await ancestors(b), [['ann', 'bob']]);
});

test('a context window in B sees a fact told through A since its last window', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('context');
  const window = { sessionId: 's1', maxFacts: 10, predicates: ['seats', 'ticket'] };
  t.is((await admin(a, tenant).post('/tell', { predicate: 'seats', args: ['acme', 150] })).status, 200);
  const first = await admin(b, tenant).post('/context/optimize', window);
  t.is(first.status, 200);
  t.is(first.json.totalFactsIncluded, 1);
  t.is((await admin(a, tenant).post('/tell', { predicate: 'ticket', args: ['t1', 'open'] })).status, 200);
  const diff = await admin(b, tenant).post('/context/diff', window);
  t.is(diff.status, 200);
  t.deepEqual(diff.json.added.map((f: { predicate: string }) => f.predicate), ['ticket']);
});

test('a session that moved on through A is the one B compares with, not the one B kept in memory', async (t) => {
  const { a, b } = t.context;
  const tenant = uniqueName('session');
  const window = { sessionId: 's1', maxFacts: 10, predicates: ['ticket'] };
  t.is((await admin(a, tenant).post('/tell', { predicate: 'ticket', args: ['t1', 'open'] })).status, 200);
  // B reads and writes the session: it keeps it (and the access counts) in memory.
  const first = await admin(b, tenant).post('/context/diff', window);
  t.is(first.status, 200);
  t.is((await admin(a, tenant).post('/tell', { predicate: 'ticket', args: ['t2', 'open'] })).status, 200);
  const moved = await admin(a, tenant).post('/context/diff', window);
  t.is(moved.json.previousWindowId, first.json.currentWindowId);
  t.deepEqual(moved.json.added.map((f: { args: string[] }) => f.args[0]), ['t2']);
  const again = await admin(b, tenant).post('/context/diff', window);
  t.is(again.status, 200);
  t.is(again.json.previousWindowId, moved.json.currentWindowId, "B compares with the window A sent last");
  t.deepEqual(again.json.added, []);
  t.is(again.json.unchanged, 2);
});

test('databases created while the catalog is listed are kept; one created through B is dropped through A', async (t) => {
  const { a, b } = t.context;
  const root = api(a.url, bearer(ADMIN_KEY));
  // A listing reloads the registry from the table: a database created while that scan runs must not be forgotten.
  for (let round = 0; round < 40; round++) {
    const name = uniqueName('listed');
    const lists = () => Array.from({ length: 3 }, () => root.get('/databases'));
    const [created] = await Promise.all([root.post('/databases', { name }), ...lists(), ...lists().map(async (l) => (await new Promise((r) => setTimeout(r, round % 4)), l))]);
    t.is(created.status, 201);
    t.is((await root.request('DELETE', `/databases/${name}`)).status, 200, `round ${round}: the database just created is dropped`);
  }
  const name = uniqueName('fromb');
  t.is((await api(b.url, bearer(ADMIN_KEY)).post('/databases', { name })).status, 201);
  t.is((await root.request('DELETE', `/admin/databases/${name}`)).status, 200, 'A drops what B created, never having seen it');
  t.is((await api(b.url, bearer(ADMIN_KEY)).request('DELETE', `/admin/databases/${name}`)).status, 404);
});
