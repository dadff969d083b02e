import anyTest, { type TestFn } from 'ava';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const ANCESTOR = 'ancestor(?x, ?y) :- parent(?x, ?y).';

test('POST /rules › the same rule twice › stored once; the second post returns it (200, created false)', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('set'));
  const first = await client.post('/rules', { text: ANCESTOR });
  t.is(first.status, 201);
  t.like(first.json.rules[0], { rule: ANCESTOR, created: true });
  // Same rule, written differently: spacing and variable names do not matter after normalisation.
  const again = await client.post('/rules', { text: 'ancestor(?x,?y):-parent(?x,?y).' });
  t.is(again.status, 200);
  t.deepEqual(again.json.rules, [{ ...first.json.rules[0], created: false }]);
  const json = await client.post('/teach', { head: { predicate: 'ancestor', args: ['?x', '?y'] }, body: [{ predicate: 'parent', args: ['?x', '?y'] }] });
  t.is(json.status, 200);
  t.is(json.json.id, first.json.rules[0].id);
  t.is((await client.get('/rules')).json.rules.length, 1);
});

test('POST /rules › a rule repeated in one request, and a new one › one of each is stored (201)', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('set'));
  await client.post('/rules', { text: ANCESTOR });
  const reply = await client.post('/rules', { text: `${ANCESTOR}\nroot(?x) :- parent(?x, ?y).\nroot(?x) :- parent(?x, ?y).` });
  t.is(reply.status, 201);
  t.deepEqual(reply.json.rules.map((r: { created: boolean }) => r.created), [false, true]);
  t.is((await client.get('/rules')).json.rules.length, 2);
});

test('POST /rules › the same text in another scope › is another rule', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('set'));
  t.is((await client.post('/rules', { text: ANCESTOR })).status, 201);
  t.is((await client.post('/rules', { text: ANCESTOR, scope: 'side' })).status, 201);
  t.is((await client.get('/rules')).json.rules.length, 2);
});

test('POST /admin/databases/{db}/rules › loading the same pack twice › stores it once', async (t) => {
  const admin = api(t.context.server.url);
  const db = uniqueName('packs');
  const pack = `${ANCESTOR}\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).`;
  const first = await admin.post(`/admin/databases/${db}/rules`, { text: pack });
  t.is(first.status, 201);
  const second = await admin.post(`/admin/databases/${db}/rules`, { text: pack });
  t.is(second.status, 200);
  t.deepEqual(second.json.rules.map((r: { id: string }) => r.id), first.json.rules.map((r: { id: string }) => r.id));
  t.true(second.json.rules.every((r: { created: boolean; system: boolean }) => !r.created && r.system));
  t.is((await admin.get(`/admin/databases/${db}/rules`)).json.rules.length, 2);
});
