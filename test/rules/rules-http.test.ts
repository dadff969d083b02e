import anyTest, { type TestFn } from 'ava';
import { askAll, tellOk, uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const ANCESTOR = 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).';
const parents = (pairs: [string, string][]) => ({ facts: pairs.map(([a, b]) => ({ predicate: 'parent', args: [a, b] })) });
const argsOf = (results: { args: unknown[] }[]) => results.map((r) => r.args).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

test('POST /rules › recursion over a chain and a cycle › answers are complete and derived', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('fam'));
  await tellOk(client, parents([['a', 'b'], ['b', 'c'], ['c', 'd'], ['x', 'y'], ['y', 'x']]));
  t.is((await client.post('/rules', { text: ANCESTOR })).status, 201);
  const fromA = await askAll(client, { predicate: 'ancestor', args: ['a', '?y'] });
  t.deepEqual(argsOf(fromA), [['a', 'b'], ['a', 'c'], ['a', 'd']]);
  t.true(fromA.every((r) => (r as unknown as { derived: boolean }).derived));
  const cycle = await askAll(client, { predicate: 'ancestor', args: ['x', '?y'] });
  t.deepEqual(argsOf(cycle), [['x', 'x'], ['x', 'y']]);
});

test('POST /ask › infer:false › ignores rules', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('fam'));
  await tellOk(client, parents([['a', 'b']]));
  await client.post('/rules', { text: ANCESTOR });
  const reply = await client.post('/ask', { predicate: 'ancestor', args: ['?x', '?y'], infer: false });
  t.deepEqual(reply.json, { results: [] });
});

test('POST /teach › JSON rule with negation, comparison and a constant head › derives as the text form would', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('saas'));
  await tellOk(client, {
    facts: [
      { predicate: 'customer', args: ['acme'] },
      { predicate: 'customer', args: ['globex'] },
      { predicate: 'churned', args: ['globex'] },
      { predicate: 'plan', args: ['acme', 'enterprise'] },
      { predicate: 'seats', args: ['acme', 120] },
    ],
  });
  const teach = await client.post('/teach', {
    head: { predicate: 'active', args: ['?c'] },
    body: [{ predicate: 'customer', args: ['?c'] }, { predicate: 'churned', args: ['?c'], not: true }],
  });
  t.is(teach.status, 201, teach.text);
  t.is(teach.json.rule, 'active(?c) :- customer(?c), not churned(?c).');
  await client.post('/rules', { text: 'discount(?c, 0.2) :- plan(?c, enterprise), seats(?c, ?n), ?n >= 100.' });
  t.deepEqual(argsOf(await askAll(client, { predicate: 'active', args: ['?c'] })), [['acme']]);
  const discount = await askAll(client, { predicate: 'discount', args: ['?c', '?d'] });
  t.deepEqual(argsOf(discount), [['acme', 0.2]]);
  t.is(discount[0]?.bindings.d, 0.2);
});

test('POST /ask › withProof › each derived answer carries rule, substitution and premises', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('fam'));
  await tellOk(client, parents([['a', 'b'], ['b', 'c']]));
  await client.post('/rules', { text: ANCESTOR });
  const reply = await client.post('/ask', { predicate: 'ancestor', args: ['a', 'c'], withProof: true });
  const [result] = reply.json.results;
  t.is(result.proof.rule, 'ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).');
  t.deepEqual(result.proof.substitution, { x: 'a', y: 'b', z: 'c' });
  t.deepEqual(result.proof.premises[0], { kind: 'stored', predicate: 'parent', args: ['a', 'b'], negated: false, scope: 'main', confidence: 1 });
  t.is(result.proof.premises[1].kind, 'derived');
  t.deepEqual(result.proof.premises[1].proof.fact, { predicate: 'ancestor', args: ['b', 'c'] });
});

test('POST /rules › unsafe or unstratifiable programs › 400 naming the rule and the problem, nothing stored', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('bad'));
  const unsafe = await client.post('/rules', { text: 'p(?x) :- q(?y).' });
  t.is(unsafe.status, 400);
  t.is(unsafe.json.details.problem, 'UNSAFE_HEAD_VARIABLE');
  t.regex(unsafe.json.message, /p\(\?x\) :- q\(\?y\)\./);
  const cycle = await client.post('/rules', { text: 'p(?x) :- q(?x), not r(?x).\nr(?x) :- q(?x), p(?x).' });
  t.is(cycle.status, 400);
  t.is(cycle.json.details.problem, 'NOT_STRATIFIABLE');
  const syntax = await client.post('/rules', { text: 'p(?x :- q(?x).' });
  t.is(syntax.status, 400);
  t.deepEqual((await client.get('/rules')).json, { rules: [] });
});

test('database rules › shared by tenants, system:true, 403 from a tenant, never read another tenant', async (t) => {
  const { url } = t.context.server;
  const database = uniqueName('db');
  const admin = api(url);
  t.is((await admin.post(`/admin/databases/${database}/rules`, { text: ANCESTOR })).status, 201);
  const alice = tenantApi(url, 'alice', database);
  const bob = tenantApi(url, 'bob', database);
  await tellOk(alice, parents([['a1', 'a2'], ['a2', 'a3']]));
  await tellOk(bob, parents([['a3', 'b1'], ['b1', 'b2']]));
  t.deepEqual(argsOf(await askAll(alice, { predicate: 'ancestor', args: ['a1', '?y'] })), [['a1', 'a2'], ['a1', 'a3']]);
  t.deepEqual(argsOf(await askAll(bob, { predicate: 'ancestor', args: ['?x', '?y'] })), [['a3', 'b1'], ['a3', 'b2'], ['b1', 'b2']]);
  const listed = (await alice.get('/rules')).json.rules;
  t.is(listed.length, 2);
  t.true(listed.every((r: { system: boolean }) => r.system));
  const remove = await alice.request('DELETE', `/rules/${listed[0].id}`);
  t.is(remove.status, 403);
  t.is(remove.json.code, 'FORBIDDEN');
  t.is((await admin.request('DELETE', `/admin/databases/${database}/rules/${listed[0].id}`)).status, 200);
  t.is((await admin.get(`/admin/databases/${database}/rules`)).json.rules.length, 1);
});

test('tenant rules › DELETE /rules/{id} › stops deriving; unknown id is 404', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('fam'));
  await tellOk(client, parents([['a', 'b']]));
  const added = (await client.post('/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).' })).json.rules;
  t.is((await askAll(client, { predicate: 'ancestor', args: ['?x', '?y'] })).length, 1);
  t.is((await client.request('DELETE', `/rules/${added[0].id}`)).status, 200);
  t.deepEqual((await client.post('/ask', { predicate: 'ancestor', args: ['?x', '?y'] })).json, { results: [] });
  t.is((await client.request('DELETE', `/rules/${added[0].id}`)).status, 404);
});

test('rules and scopes › a rule sees only the scope asked (or each scope), and a fork sees its own changes', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('scoped'));
  await tellOk(client, parents([['a', 'b']]));
  await client.post('/rules', { text: ANCESTOR });
  t.is((await client.post('/scope/fork', { source: 'main', target: 'what-if' })).status, 201);
  await tellOk(client, { predicate: 'parent', args: ['b', 'c'], scope: 'what-if' });
  await client.post('/retract', { predicate: 'parent', args: ['a', 'b'], scope: 'what-if' });
  await tellOk(client, { predicate: 'parent', args: ['c', 'd'], scope: 'other' });
  t.deepEqual(argsOf(await askAll(client, { predicate: 'ancestor', args: ['?x', '?y'], scope: 'main' })), [['a', 'b']]);
  t.deepEqual(argsOf(await askAll(client, { predicate: 'ancestor', args: ['?x', '?y'], scope: 'what-if' })), [['b', 'c']]);
  const all = argsOf(await askAll(client, { predicate: 'ancestor', args: ['?x', '?y'] }));
  // Over all scopes: the union of each scope's answers; no derivation combines two scopes' facts.
  t.deepEqual(all, [['a', 'b'], ['b', 'c'], ['c', 'd']]);
});

test('conjunctive query › joins with shared variables, not, paging by cursor', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('join'));
  await tellOk(client, {
    facts: [
      ...Array.from({ length: 30 }, (_, i) => ({ predicate: 'employee', args: [`p${i}`, i % 3 === 0 ? 'eng' : 'ops'] })),
      { predicate: 'dept', args: ['eng', 'building-1'] },
      { predicate: 'contractor', args: ['p0'] },
    ],
  });
  const query = {
    query: [{ predicate: 'employee', args: ['?p', '?d'] }, { predicate: 'dept', args: ['?d', 'building-1'] }],
    not: [{ predicate: 'contractor', args: ['?p'] }],
    limit: 4,
  };
  const people: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { json: { results: { bindings: { p: string } }[]; cursor: string | null } } = await client.post('/ask', { ...query, cursor });
    people.push(...page.json.results.map((r) => r.bindings.p));
    cursor = page.json.cursor;
  } while (cursor);
  t.deepEqual(people.sort(), ['p12', 'p15', 'p18', 'p21', 'p24', 'p27', 'p3', 'p6', 'p9']);
});

test('rules › survive a restart', async (t) => {
  const server = await startTestServer();
  const tenant = uniqueName('persist');
  await tellOk(tenantApi(server.url, tenant), parents([['a', 'b'], ['b', 'c']]));
  await tenantApi(server.url, tenant).post('/rules', { text: ANCESTOR });
  await api(server.url).post('/admin/databases/default/rules', { text: 'grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).' });
  await server.close({ keepData: true });
  const again = await startTestServer({}, { dataDir: server.dataDir });
  try {
    const client = tenantApi(again.url, tenant);
    t.deepEqual(argsOf(await askAll(client, { predicate: 'ancestor', args: ['a', '?y'] })), [['a', 'b'], ['a', 'c']]);
    t.deepEqual(argsOf(await askAll(client, { predicate: 'grandparent', args: ['?x', '?z'] })), [['a', 'c']]);
    t.is((await client.get('/rules')).json.rules.length, 3);
  } finally {
    await again.close();
  }
});

test('npm run rules:load › loads a pack into a database as database rules', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const database = uniqueName('packs');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/rules-load.ts', '--database', database, '--url', t.context.server.url, 'rules/family.vr']);
  t.regex(stdout, /rules loaded into database/);
  const rules = (await api(t.context.server.url).get(`/admin/databases/${database}/rules`)).json.rules;
  t.true(rules.length > 0);
  t.true(rules.some((r: { rule: string }) => r.rule.startsWith('ancestor(')));
  const again = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/rules-load.ts', '--database', database, '--url', t.context.server.url, 'rules/family.vr']);
  t.regex(again.stdout, /\(0 new\)/, 'loading a pack again adds nothing');
  t.is((await api(t.context.server.url).get(`/admin/databases/${database}/rules`)).json.rules.length, rules.length);
  const pkg = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  t.is(pkg.scripts['rules:load'], 'node dist/cli/rules-load.js', 'the script runs compiled JS, as in the Docker image (no tsx there)');
  const bad = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/rules-load.ts', '--database', database, '--url', t.context.server.url]).catch((e: { code: number }) => e);
  t.is((bad as { code: number }).code, 2);
});
