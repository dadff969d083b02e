import { readdir } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type Term, askAll, factId, tellOk, uniqueName } from '../helpers/facts.js';
import { type Reply, type TestServer, api, rawRequest, startTestServer, tenantApi } from '../helpers/server.js';
import { seededRandom } from '../helpers/random.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

test('isolation › when acme_corp tells plan(enterprise) in production › globex_inc sees exactly {"results":[]} and acme_corp sees it', async (t) => {
  const { url } = t.context.server;
  const acme = tenantApi(url, 'acme_corp', 'production');
  const globex = tenantApi(url, 'globex_inc', 'production');
  const told = await acme.post('/tell', { predicate: 'plan', args: ['enterprise'] });
  t.is(told.status, 200, told.text);
  t.is(told.json.facts[0].$context, 'vesper://production/~acme_corp');
  const other = await globex.post('/ask', { predicate: 'plan', args: ['?tier'] });
  t.is(other.status, 200);
  t.deepEqual(other.json, { results: [] });
  const own = await acme.post('/ask', { predicate: 'plan', args: ['?tier'] });
  t.is(own.json.results.length, 1);
  t.is(own.json.results[0].bindings.tier, 'enterprise');
  t.is(own.json.results[0].$context, 'vesper://production/~acme_corp');
  t.deepEqual((await globex.post('/retract', { predicate: 'plan', args: ['?tier'] })).json, { retracted: 0 }, 'nor can it retract it');
  t.is((await acme.post('/ask', { predicate: 'plan', args: ['?tier'] })).json.results.length, 1);
});

test('isolation › when one tenant name is used in two databases › each database keeps its own facts', async (t) => {
  const { url } = t.context.server;
  const [db1, db2, tenant] = [uniqueName('dba'), uniqueName('dbb'), uniqueName('same')];
  const one = tenantApi(url, tenant, db1);
  const two = tenantApi(url, tenant, db2);
  await tellOk(one, { predicate: 'home', args: ['db1'] });
  assertError(t, await two.post('/ask', { predicate: 'home', args: ['?x'] }), 404, 'NOT_FOUND');
  await tellOk(two, { predicate: 'home', args: ['db2'] });
  t.deepEqual((await askAll(one, { predicate: 'home', args: ['?x'] })).map((r) => [r.args[0], r.$context]), [['db1', `vesper://${db1}/~${tenant}`]]);
  t.deepEqual((await askAll(two, { predicate: 'home', args: ['?x'] })).map((r) => [r.args[0], r.$context]), [['db2', `vesper://${db2}/~${tenant}`]]);
  t.deepEqual((await tenantApi(url, tenant).post('/ask', { predicate: 'home', args: ['?x'] })).json, { results: [] }, 'nor in the default database');
  t.deepEqual((await two.post('/retract', { predicate: 'home', args: ['db1'] })).json, { retracted: 0 });
});

test('isolation › when the address is in the path › /~t/… and /db/d/~t/… are the header forms', async (t) => {
  const { url } = t.context.server;
  const [tenant, database] = [uniqueName('path'), uniqueName('pathdb')];
  const raw = api(url);
  const viaPath = await raw.post(`/~${tenant}/tell`, { predicate: 'where', args: ['default'] });
  t.is(viaPath.status, 200, viaPath.text);
  t.is(viaPath.json.facts[0].$context, `vesper://default/~${tenant}`);
  const viaDbPath = await raw.post(`/db/${database}/~${tenant}/tell`, { predicate: 'where', args: ['named'] });
  t.is(viaDbPath.json.facts[0].$context, `vesper://${database}/~${tenant}`);
  // Each form reads what the other wrote.
  const byHeader = await askAll(tenantApi(url, tenant), { predicate: 'where', args: ['?w'] });
  t.deepEqual(byHeader.map((r) => r.args[0]), ['default']);
  const byPath = await raw.post(`/~${tenant}/ask`, { predicate: 'where', args: ['?w'] });
  t.deepEqual(byPath.json, (await tenantApi(url, tenant).post('/ask', { predicate: 'where', args: ['?w'] })).json);
  const byDbPath = await raw.post(`/db/${database}/~${tenant}/ask`, { predicate: 'where', args: ['?w'] });
  t.deepEqual(byDbPath.json.results.map((r: { args: Term[] }) => r.args[0]), ['named']);
  t.deepEqual(byDbPath.json, (await tenantApi(url, tenant, database).post('/ask', { predicate: 'where', args: ['?w'] })).json);
  // Path plus a database header, and percent-encoded names, are the same address.
  const mixed = await raw.post(`/~${tenant}/ask`, { predicate: 'where', args: ['?w'] }, { 'X-Database': database });
  t.deepEqual(mixed.json.results.map((r: { args: Term[] }) => r.args[0]), ['named']);
  const encoded = await raw.post(`/~${encodeURIComponent(tenant).replace('_', '%5F')}/ask`, { predicate: 'where', args: ['?w'] });
  t.deepEqual(encoded.json.results.map((r: { args: Term[] }) => r.args[0]), ['default']);
  const agreeing = await raw.post(`/db/${database}/~${tenant}/retract`, { predicate: 'where', args: ['?w'] }, { 'X-Tenant-ID': tenant, 'X-Database': database });
  t.deepEqual(agreeing.json, { retracted: 1 }, 'header and path may both be given when they agree');
});

test('isolation › when header and path disagree › 400', async (t) => {
  const { url } = t.context.server;
  const raw = api(url);
  const tenant = uniqueName('victim');
  await tellOk(tenantApi(url, tenant), { predicate: 'secret', args: ['x'] });
  const cases: [string, Record<string, string>][] = [
    [`/~${tenant}/ask`, { 'X-Tenant-ID': 'intruder' }],
    ['/~intruder/ask', { 'X-Tenant-ID': tenant }],
    [`/db/default/~${tenant}/ask`, { 'X-Tenant-ID': tenant, 'X-Database': 'other' }],
    [`/db/other/~${tenant}/ask`, { 'X-Database': 'default' }],
  ];
  for (const [path, headers] of cases) {
    const reply = await raw.post(path, { predicate: 'secret', args: ['?x'] }, headers);
    assertError(t, reply, 400, 'VALIDATION_ERROR');
  }
});

test('isolation › when the body or args name another tenant › the request still acts only on its own tenant', async (t) => {
  const { url } = t.context.server;
  const [mine, theirs] = [uniqueName('mine'), uniqueName('theirs')];
  const me = tenantApi(url, mine);
  const them = tenantApi(url, theirs);
  await tellOk(them, { predicate: 'owner', args: [theirs] });
  for (const field of ['tenant', 'tenantId', 'database', 'X-Tenant-ID']) {
    assertError(t, await me.post('/tell', { predicate: 'owner', args: ['x'], [field]: theirs }), 400, 'VALIDATION_ERROR');
    assertError(t, await me.post('/ask', { predicate: 'owner', args: ['?x'], [field]: theirs }), 400, 'VALIDATION_ERROR');
    assertError(t, await me.post('/retract', { predicate: 'owner', args: ['?x'], [field]: theirs }), 400, 'VALIDATION_ERROR');
  }
  // Echoed read-only fields naming the other tenant are ignored, not obeyed.
  const echoed = await me.post('/tell', { predicate: 'owner', args: [theirs], $context: `vesper://default/~${theirs}` });
  t.is(echoed.json.facts[0].$context, `vesper://default/~${mine}`);
  // The other tenant's name as data is only data.
  t.deepEqual((await askAll(them, { predicate: 'owner', args: ['?x'] })).map((r) => r.$context), [`vesper://default/~${theirs}`]);
  t.deepEqual((await me.post('/retract', { predicate: 'owner', args: [theirs] })).json, { retracted: 1 });
  t.is((await askAll(them, { predicate: 'owner', args: ['?x'] })).length, 1, 'retracting my copy leaves theirs');
  // Two X-Tenant-ID headers arrive as one joined value, which is not a valid name.
  const doubled = await fetch(`${url}/ask`, {
    method: 'POST',
    headers: [['X-Tenant-ID', mine], ['X-Tenant-ID', theirs], ['content-type', 'application/json']],
    body: JSON.stringify({ predicate: 'owner', args: ['?x'] }),
  });
  t.is(doubled.status, 400);
});

const INVALID_NAMES = ['../etc', 'a b', 'x'.repeat(65), '.', '..', 'a/b', 'a\\b', 'tenant!', '~meta', 'a%b', 'ü'];

test('isolation › when a tenant or database name is invalid › 400 (header and path forms), nothing created', async (t) => {
  const { url, dataDir } = t.context.server;
  const raw = api(url);
  const body = { predicate: 'p', args: ['x'] };
  for (const name of INVALID_NAMES) {
    const headerSafe = /^[\x20-\x7e]*$/.test(name);
    if (headerSafe) {
      assertError(t, await raw.post('/tell', body, { 'X-Tenant-ID': name }), 400, 'VALIDATION_ERROR');
      assertError(t, await raw.post('/tell', body, { 'X-Tenant-ID': 'ok', 'X-Database': name }), 400, 'VALIDATION_ERROR');
      assertError(t, await raw.post('/ask', body, { 'X-Tenant-ID': 'ok', 'X-Database': name }), 400, 'VALIDATION_ERROR');
    }
    for (const segment of new Set([encodeURIComponent(name), encodeURIComponent(name).replaceAll('.', '%2E')])) {
      for (const path of [`/~${segment}/tell`, `/db/${segment}/~ok/tell`]) {
        const reply = await rawRequest(url, 'POST', path, JSON.stringify(body));
        t.is(reply.status, 400, `${path} → ${reply.text}`);
        t.is(reply.json?.code, 'VALIDATION_ERROR', path);
      }
    }
  }
  // Empty names, sent explicitly.
  assertError(t, await raw.post('/tell', body, { 'X-Tenant-ID': '' }), 400, 'VALIDATION_ERROR');
  assertError(t, await raw.post('/tell', body, { 'X-Tenant-ID': 'ok', 'X-Database': '' }), 400, 'VALIDATION_ERROR');
  assertError(t, await raw.post('/~%ZZ/ask', body), 400, 'VALIDATION_ERROR');
  assertError(t, await raw.post('/db/%E0%A4%A/~ok/ask', body), 400, 'VALIDATION_ERROR');
  // 64 characters is the longest valid name.
  const longest = 'x'.repeat(64);
  t.is((await raw.post('/tell', body, { 'X-Tenant-ID': longest, 'X-Database': longest })).status, 200);
  const entries = await readdir(dataDir);
  t.true(entries.every((e) => /^[A-Za-z0-9_.-]{1,64}$/.test(e) && e !== '.' && e !== '..'), entries.join(', '));
  const listed = (await raw.get('/databases')).json.databases.map((d: { name: string }) => d.name);
  t.true(listed.every((n: string) => /^[A-Za-z0-9_.-]{1,64}$/.test(n)));
});

// ---------------------------------------------------------------------------------------------
// The property: whatever a tenant sends, it never sees (or changes) another tenant's facts.
// A seeded sequence of tells, retracts and asks over 4 tenants × 2 databases, each answer
// compared with an in-memory model of what that tenant alone told.

type ModelFact = { predicate: string; args: Term[]; negated: boolean; scope: string };

class Model {
  readonly databases = new Set<string>();
  private readonly facts = new Map<string, Map<string, ModelFact>>();

  of(database: string, tenant: string): Map<string, ModelFact> {
    const key = `${database}/${tenant}`;
    let facts = this.facts.get(key);
    if (!facts) this.facts.set(key, (facts = new Map()));
    return facts;
  }
}

const VALUES: Term[] = ['a', 'b', 1, true];

function matches(pattern: Term[], args: Term[]): boolean {
  if (pattern.length !== args.length) return false;
  const bound = new Map<string, string>();
  return pattern.every((p, i) => {
    const arg = JSON.stringify(args[i]);
    if (typeof p === 'string' && p.startsWith('?') && !p.startsWith('??')) {
      if (p === '?') return true;
      const previous = bound.get(p);
      bound.set(p, arg);
      return previous === undefined || previous === arg;
    }
    return JSON.stringify(p) === arg;
  });
}

test('isolation › when 4 tenants × 2 databases send ~200 random tells, retracts and asks › every answer is that tenant’s own', async (t) => {
  const seed = 20_260_403;
  const random = seededRandom(seed);
  const { url } = t.context.server;
  const tenants = [0, 1, 2, 3].map((i) => uniqueName(`prop${i}`));
  const databases = [uniqueName('propdb0'), uniqueName('propdb1')];
  const model = new Model();
  const raw = api(url);

  /** Address the tenant one of three ways, chosen at random: headers, /~t/, /db/d/~t/. */
  const send = (database: string, tenant: string, route: string, body: unknown): Promise<Reply> => {
    const form = random.int(3);
    if (form === 0) return raw.post(route, body, { 'X-Tenant-ID': tenant, 'X-Database': database });
    if (form === 1) return raw.post(`/~${tenant}${route}`, body, { 'X-Database': database });
    return raw.post(`/db/${database}/~${tenant}${route}`, body);
  };
  const randomArgs = (arity: number, variables: boolean): Term[] =>
    Array.from({ length: arity }, () => (variables && random.chance(0.5) ? random.pick(['?x', '?y', '?']) : random.pick(VALUES)));

  for (let step = 0; step < 200; step++) {
    const database = random.pick(databases);
    const tenant = random.pick(tenants);
    const mine = model.of(database, tenant);
    const where = `seed ${seed}, step ${step}, ${database}/${tenant}`;
    const roll = random.next();
    if (roll < 0.4) {
      const batch = Array.from({ length: 1 + random.int(3) }, () => ({
        predicate: random.pick(['p', 'q']),
        args: randomArgs(1 + random.int(2), false),
        negated: random.chance(0.2),
        scope: random.pick(['main', 's2']),
      }));
      // Expected: a 409 if any fact contradicts the store or an earlier fact of the batch.
      const pending = new Map(mine);
      let conflict = false;
      for (const fact of batch) {
        if (pending.has(factId({ ...fact, negated: !fact.negated }))) conflict = true;
        pending.set(factId(fact), fact);
      }
      const decoy = `vesper://${database}/~${random.pick(tenants)}`;
      const reply = await send(database, tenant, '/tell', { facts: batch.map((f) => (random.chance(0.3) ? { ...f, $context: decoy } : f)) });
      t.is(reply.status, conflict ? 409 : 200, `${where}: tell ${JSON.stringify(batch)} → ${reply.text.slice(0, 200)}`);
      if (!conflict) {
        for (const [k, v] of pending) mine.set(k, v);
        model.databases.add(database);
        t.true(reply.json.facts.every((f: { $context: string }) => f.$context === `vesper://${database}/~${tenant}`), where);
      }
    } else if (roll < 0.55) {
      const pattern = { predicate: random.pick(['p', 'q']), args: randomArgs(1 + random.int(2), true), negated: random.chance(0.2) };
      const scope = random.pick([undefined, 'main', 's2']);
      const reply = await send(database, tenant, '/retract', { ...pattern, ...(scope ? { scope } : {}) });
      if (!model.databases.has(database)) {
        t.is(reply.status, 404, `${where}: retract in a database never written`);
        continue;
      }
      const gone = [...mine].filter(([, f]) => f.predicate === pattern.predicate && f.negated === pattern.negated && (!scope || f.scope === scope) && matches(pattern.args, f.args));
      t.deepEqual(reply.json, { retracted: gone.length }, `${where}: retract ${JSON.stringify(pattern)} in ${scope ?? 'all scopes'}`);
      for (const [k] of gone) mine.delete(k);
    } else {
      const pattern = { predicate: random.pick(['p', 'q']), args: randomArgs(1 + random.int(2), true), negated: random.chance(0.2) };
      const scope = random.pick([undefined, 'main', 's2']);
      const distinct = random.chance(0.2);
      const reply = await send(database, tenant, '/ask', { ...pattern, limit: 10_000, distinct, ...(scope ? { scope } : {}) });
      if (!model.databases.has(database)) {
        t.is(reply.status, 404, `${where}: ask in a database never written`);
        continue;
      }
      t.is(reply.status, 200, `${where}: ${reply.text.slice(0, 200)}`);
      const expected = [...mine.values()].filter((f) => f.predicate === pattern.predicate && f.negated === pattern.negated && (!scope || f.scope === scope) && matches(pattern.args, f.args));
      const strip = (f: ModelFact) => (distinct ? factId({ ...f, scope: 'any' }) : factId(f));
      const results: ModelFact[] = reply.json.results;
      t.deepEqual(results.map(strip).sort(), [...new Set(expected.map(strip))].sort(), `${where}: ask ${JSON.stringify(pattern)} in ${scope ?? 'all scopes'}${distinct ? ', distinct' : ''}`);
      t.true(results.every((r) => (r as unknown as { $context: string }).$context === `vesper://${database}/~${tenant}`), where);
      if (expected.length === 0) t.deepEqual(reply.json, { results: [] }, where);
    }
  }
  // Finally every tenant reads back exactly its own model, in each database.
  for (const database of model.databases) {
    for (const tenant of tenants) {
      const all = [
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'p', args: ['?', '?'] })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'p', args: ['?'] })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'q', args: ['?', '?'] })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'q', args: ['?'] })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'p', args: ['?', '?'], negated: true })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'p', args: ['?'], negated: true })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'q', args: ['?', '?'], negated: true })),
        ...(await askAll(tenantApi(url, tenant, database), { predicate: 'q', args: ['?'], negated: true })),
      ];
      t.deepEqual(all.map(factId).sort(), [...model.of(database, tenant).keys()].sort(), `final state of ${database}/${tenant}`);
    }
  }
});
