import anyTest, { type TestFn } from 'ava';
import { FactsPageReply, PredicatesReply } from '../../src/contract/replies.js';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

/** Every page of GET /facts?query, following the cursor; each reply checked against its contract. */
async function allPages(client: Api, query: string, limit: number): Promise<{ pages: number; facts: { predicate: string; args: unknown[]; scope: string; negated: boolean }[] }> {
  const facts = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const reply = await client.get(`/facts?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (reply.status !== 200) throw new Error(`GET /facts: ${reply.status} ${reply.text}`);
    const page = FactsPageReply.parse(reply.json);
    facts.push(...page.facts);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null);
  return { pages, facts };
}

test('GET /facts › 25 facts by pages of 10 › every fact once, in three pages, then no cursor', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('list'));
  await tellOk(client, { facts: Array.from({ length: 25 }, (_, i) => ({ predicate: 'item', args: [i] })) });
  const { pages, facts } = await allPages(client, '', 10);
  t.is(pages, 3);
  t.deepEqual(facts.map((f) => f.args[0]).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 25 }, (_, i) => i));
});

test('GET /facts › filters › predicate (any arity), scope and negated select their facts', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('list'));
  await tellOk(client, {
    facts: [
      { predicate: 'plan', args: ['acme', 'enterprise'] },
      { predicate: 'plan', args: ['solo'] },
      { predicate: 'seats', args: ['acme', 120] },
      { predicate: 'churned', args: ['acme'], negated: true },
    ],
  });
  await client.post('/scope/fork', { source: 'main', target: 'what-if' });
  await tellOk(client, { predicate: 'plan', args: ['globex', 'free'], scope: 'what-if' });

  const plans = await allPages(client, '&predicate=plan&scope=main', 100);
  t.deepEqual(plans.facts.map((f) => f.args).sort(), [['acme', 'enterprise'], ['solo']]);
  const whatIf = await allPages(client, '&predicate=plan&scope=what-if', 1);
  t.is(whatIf.facts.length, 3, 'a fork sees its base and its own writes');
  t.is(whatIf.pages, 3);
  const negative = await allPages(client, '&negated=true', 100);
  t.deepEqual(negative.facts.map((f) => [f.predicate, f.scope]).sort(), [['churned', 'main'], ['churned', 'what-if']]);
  const everything = await allPages(client, '', 100);
  t.is(everything.facts.length, 9, 'without a scope: every scope, a fact held by two scopes listed for each');
});

test('GET /facts › bad input › 400 with the envelope, never a 500', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('list'));
  await tellOk(client, { facts: [{ predicate: 'a', args: [1] }, { predicate: 'a', args: [2] }] });
  for (const query of ['limit=0', 'limit=abc', 'negated=maybe', 'predicate=%3Fx', 'cursor=nonsense', 'colour=red']) {
    const reply = await client.get(`/facts?${query}`);
    t.is(reply.status, 400, query);
    t.is(reply.json?.code, 'VALIDATION_ERROR', query);
  }
  const first = await client.get('/facts?limit=1&predicate=a');
  const reused = await client.get(`/facts?limit=1&predicate=b&cursor=${encodeURIComponent(first.json.cursor)}`);
  t.is(reused.status, 400, 'a cursor belongs to its query');
  t.is((await tenantApi(t.context.server.url, uniqueName('never')).get('/facts')).json.facts.length, 0);
});

test('GET /predicates › after tells, retracts and rules › names, arities, fact and rule counts', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('vocab'));
  const predicates = async (query = '') => PredicatesReply.parse((await client.get(`/predicates${query}`)).json).predicates;
  t.deepEqual(await predicates(), []);

  await tellOk(client, { facts: [{ predicate: 'parent', args: ['a', 'b'] }, { predicate: 'parent', args: ['b', 'c'] }, { predicate: 'flag', args: [] }, { predicate: 'flag', args: ['x', 1] }] });
  t.deepEqual(await predicates(), [
    { name: 'flag', arities: [0, 2], facts: 2, rules: 0 },
    { name: 'parent', arities: [2], facts: 2, rules: 0 },
  ]);

  t.deepEqual((await client.post('/retract', { predicate: 'flag', args: [] })).json, { retracted: 1 });
  t.is((await client.post('/rules', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).' })).status, 201);
  t.is((await client.post('/rules', { text: 'only_here(?x) :- parent(?x, ?y).', scope: 'side' })).status, 201);
  t.deepEqual(await predicates(), [
    { name: 'ancestor', arities: [2], facts: 0, rules: 2 },
    { name: 'flag', arities: [2], facts: 1, rules: 0 },
    { name: 'only_here', arities: [1], facts: 0, rules: 1 },
    { name: 'parent', arities: [2], facts: 2, rules: 0 },
  ]);
  const inMain = (await predicates('?scope=main')).map((p) => p.name);
  t.deepEqual(inMain, ['ancestor', 'flag', 'parent'], 'a rule of another scope is not counted for main');

  await client.post('/retract', { predicate: 'flag', args: ['?', '?'] });
  t.false((await predicates()).some((p) => p.name === 'flag'), 'a predicate with no facts and no rules is gone');
});
