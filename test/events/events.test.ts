import anyTest, { type TestFn } from 'ava';
import { type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';
import { openStream, sleep } from './stream.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server.close();
});

const data = (event: { data: string }) => JSON.parse(event.data);

test('GET /events › while a client listens › tells and retracts arrive live as SSE frames', async (t) => {
  const { url } = t.context.server;
  const rest = tenantApi(url, 'live');
  const stream = await openStream(`${url}/events`, { 'X-Tenant-ID': 'live' });
  try {
    t.is(stream.status, 200);
    t.regex(stream.contentType ?? '', /^text\/event-stream/);
    await stream.waitForComment(/connected/);
    await rest.post('/tell', { predicate: 'plan', args: ['acme', 'pro'] });
    await rest.post('/retract', { predicate: 'plan', args: ['acme', '?t'] });
    await rest.post('/scope/fork', { source: 'main', target: 'h1' });
    const [told, retracted, forked] = await stream.waitFor(3);
    t.is(told?.event, 'told');
    t.is(told?.id, String(data(told!).seq));
    t.like(data(told!), { op: 'told', outcome: 'ok', scope: 'main', details: { count: 1, facts: [{ predicate: 'plan', args: ['acme', 'pro'], negated: false, scope: 'main', version: 1 }] } });
    t.is(retracted?.event, 'retracted');
    t.is(forked?.event, 'scope_forked');
    t.true(Number(forked?.id) > Number(retracted?.id));
  } finally {
    stream.close();
  }
});

test('GET /events › reconnecting with since or Last-Event-ID › gets exactly the missed events, then live ones', async (t) => {
  const { url } = t.context.server;
  const rest = tenantApi(url, 'replay');
  for (const n of [1, 2, 3]) await rest.post('/tell', { predicate: 'n', args: [n] });
  const first = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'replay' });
  const seen = await first.waitFor(3);
  first.close();
  t.deepEqual(seen.map((e) => data(e).details.facts[0].args[0]), [1, 2, 3]);
  const last = seen[2]?.id ?? '';

  for (const n of [4, 5]) await rest.post('/tell', { predicate: 'n', args: [n] }); // missed while away
  const bySince = await openStream(`${url}/events?since=${last}`, { 'X-Tenant-ID': 'replay' });
  const byHeader = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'replay', 'Last-Event-ID': last });
  try {
    for (const stream of [bySince, byHeader]) {
      const missed = await stream.waitFor(2);
      t.deepEqual(missed.map((e) => data(e).details.facts[0].args[0]), [4, 5]);
    }
    await rest.post('/tell', { predicate: 'n', args: [6] });
    for (const stream of [bySince, byHeader]) {
      const all = await stream.waitFor(3);
      t.deepEqual(all.map((e) => data(e).details.facts[0].args[0]), [4, 5, 6]);
    }
    await sleep(100);
    t.is(bySince.events.length, 3, 'no duplicates');
    t.is(byHeader.events.length, 3, 'no duplicates');
  } finally {
    bySince.close();
    byHeader.close();
  }
});

test('GET /events › writes racing the replay › are neither lost nor sent twice', async (t) => {
  const { url } = t.context.server;
  const rest = tenantApi(url, 'race');
  await rest.post('/tell', { facts: Array.from({ length: 50 }, (_, i) => ({ predicate: 'seed', args: [i] })) });
  for (let i = 0; i < 20; i++) await rest.post('/tell', { predicate: 'before', args: [i] });
  const writes = (async () => {
    for (let i = 0; i < 30; i++) await rest.post('/tell', { predicate: 'during', args: [i] });
  })();
  const stream = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'race' });
  try {
    await writes;
    const all = await stream.waitFor(51, 10_000);
    await sleep(100);
    const seqs = stream.events.map((e) => Number(e.id));
    t.is(seqs.length, 51);
    t.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    t.is(new Set(seqs).size, seqs.length);
    t.deepEqual(seqs, Array.from({ length: 51 }, (_, i) => (seqs[0] ?? 0) + i));
    t.is(all.filter((e) => data(e).details.facts[0].predicate === 'during').length, 30);
  } finally {
    stream.close();
  }
});

test('GET /events › another tenant\'s events › never arrive, nor those of the same tenant name in another database', async (t) => {
  const { url } = t.context.server;
  await api(url).post('/databases', { name: 'elsewhere' });
  const mine = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'mine' });
  const elsewhere = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'mine', 'X-Database': 'elsewhere' });
  try {
    await tenantApi(url, 'theirs').post('/tell', { predicate: 'secret', args: ['theirs'] });
    await tenantApi(url, 'mine', 'elsewhere').post('/tell', { predicate: 'secret', args: ['other database'] });
    await tenantApi(url, 'mine').post('/tell', { predicate: 'mine', args: [1] });
    const [event] = await mine.waitFor(1);
    t.is(data(event!).details.facts[0].predicate, 'mine');
    const [other] = await elsewhere.waitFor(1);
    t.deepEqual(data(other!).details.facts[0].args, ['other database']);
    await sleep(150);
    t.is(mine.events.length, 1);
    t.is(elsewhere.events.length, 1);
  } finally {
    mine.close();
    elsewhere.close();
  }
});

test('GET /events › scope and predicate filters › pass only matching events', async (t) => {
  const { url } = t.context.server;
  const rest = tenantApi(url, 'filters');
  await rest.post('/scope/fork', { source: 'main', target: 'h1' });
  const byScope = await openStream(`${url}/events?scope=h1`, { 'X-Tenant-ID': 'filters' });
  const byPredicate = await openStream(`${url}/events?predicate=plan`, { 'X-Tenant-ID': 'filters' });
  try {
    await Promise.all([byScope.waitForComment(/connected/), byPredicate.waitForComment(/connected/)]);
    await rest.post('/tell', { predicate: 'plan', args: ['a'] });
    await rest.post('/tell', { predicate: 'seats', args: ['a', 3], scope: 'h1' });
    await rest.post('/tell', { facts: [{ predicate: 'owner', args: ['a'] }, { predicate: 'plan', args: ['b'], scope: 'h1' }] });
    await rest.post('/scope/merge', { source: 'h1', target: 'main', strategy: 'SOURCE_WINS' });
    await rest.post('/tell', { predicate: 'marker', args: [], scope: 'h1' });
    const scoped = await byScope.waitFor(3);
    t.deepEqual(scoped.map((e) => e.event), ['told', 'told', 'told']);
    t.deepEqual(scoped.map((e) => data(e).details.facts.map((f: any) => f.predicate).join('+')), ['seats', 'owner+plan', 'marker']);
    const planned = await byPredicate.waitFor(2);
    t.deepEqual(planned.map((e) => data(e).details.facts.map((f: any) => f.predicate).join('+')), ['plan', 'owner+plan']);
    await sleep(100);
    t.is(byPredicate.events.length, 2);
  } finally {
    byScope.close();
    byPredicate.close();
  }
});

test('GET /events › keepalive › a comment every `keepalive` ms', async (t) => {
  const { url } = t.context.server;
  const stream = await openStream(`${url}/events?keepalive=100`, { 'X-Tenant-ID': 'quiet' });
  try {
    await stream.waitForComment(/keepalive/, 2000);
    t.pass();
  } finally {
    stream.close();
  }
});

test('GET /events › bad input › 400 envelopes, and the tenant header is required', async (t) => {
  const { url } = t.context.server;
  const client = api(url);
  t.is((await client.get('/events')).json.code, 'VALIDATION_ERROR');
  t.is((await client.get('/events?since=-1', { 'X-Tenant-ID': 'x' })).status, 400);
  t.is((await client.get('/events?scope=../etc', { 'X-Tenant-ID': 'x' })).status, 400);
  t.is((await client.get('/events', { 'X-Tenant-ID': 'x', 'Last-Event-ID': 'abc' })).status, 400);
  t.is((await client.get('/events', { 'X-Tenant-ID': 'x', 'X-Database': 'never-created' })).json.code, 'NOT_FOUND');
});
