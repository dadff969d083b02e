/**
 * A scope forked at a past moment (`/scope/fork` with `asOf`) reads its source's layers as they
 * stood then; retrieval must too. Found from outside: /search and windows with a query in such a
 * fork found facts told in the source after the fork's moment, and matched words of metadata
 * written after it, while /ask in the fork did not see them.
 */
import anyTest, { type TestFn } from 'ava';
import { tellOk, uniqueName } from '../helpers/facts.js';
import { type Api, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

type Hit = { predicate: string; args: unknown[]; scope: string; metadata: Record<string, unknown> | null };
const labels = (hits: Hit[]) => hits.map((h) => `${h.predicate}(${h.args.join(', ')})@${h.scope}`).sort();

/** The moment of the tenant's last write, and a wait until the clock has passed it (later writes are after it). */
async function lastWriteMoment(c: Api, predicate: string): Promise<number> {
  const versions = (await c.get(`/history?predicate=${predicate}`)).json.versions as { time: number }[];
  const moment = Math.max(...versions.map((v) => v.time));
  while (Date.now() <= moment) await new Promise((resolve) => setImmediate(resolve));
  return moment;
}

async function pastFork(t: { context: { server: TestServer } }) {
  const { url } = t.context.server;
  const db = uniqueName('pastf');
  await api(url).post('/databases', { name: db });
  const put = await api(url).request('PUT', `/admin/databases/${db}/settings`, { embeddingDimensions: 3 });
  if (put.status !== 200) throw new Error(put.text);
  const c = tenantApi(url, uniqueName('pastf'), db);
  await tellOk(c, { facts: [{ predicate: 'fruit', args: ['kiwi old'], embedding: [1, 0, 0] }, { predicate: 'fruit', args: ['plum'], embedding: [0, 0, 1] }, { predicate: 'fruit', args: ['pear'], embedding: [0, 0, 1] }] });
  const moment = await lastWriteMoment(c, 'fruit');
  // After the moment: a new fact, new metadata words and a new vector on an old fact, a retraction.
  await tellOk(c, { facts: [{ predicate: 'fruit', args: ['kiwi new'], embedding: [0, 1, 0] }, { predicate: 'fruit', args: ['kiwi old'], metadata: { note: 'mango' }, embedding: [0, 1, 0] }] });
  t_is(await c.post('/retract', { predicate: 'fruit', args: ['plum'] }), 200);
  const forked = await c.post('/scope/fork', { source: 'main', target: 'past', asOf: moment });
  if (forked.status !== 201) throw new Error(forked.text);
  return c;
}

function t_is(reply: { status: number; text: string }, status: number): void {
  if (reply.status !== status) throw new Error(`${reply.status}: ${reply.text}`);
}

test('past-moment fork › /search by text › finds what the fork reads (as /ask does), nothing told after its moment', async (t) => {
  const c = await pastFork(t);
  const asked = (await c.post('/ask', { predicate: 'fruit', args: ['?x'], scope: 'past' })).json.results as Hit[];
  t.deepEqual(labels(asked), ['fruit(kiwi old)@past', 'fruit(pear)@past', 'fruit(plum)@past'], 'the fork as it stood');
  t.deepEqual(labels((await c.post('/search', { query: 'kiwi', scope: 'past' })).json.results), ['fruit(kiwi old)@past']);
  t.deepEqual((await c.post('/search', { query: 'mango', scope: 'past' })).json.results, [], 'metadata written after the moment');
  t.deepEqual(labels((await c.post('/search', { query: 'plum', scope: 'past' })).json.results), ['fruit(plum)@past'], 'retracted in main after the moment');
  t.deepEqual(labels((await c.post('/search', { query: 'kiwi', scope: 'main' })).json.results), ['fruit(kiwi new)@main', 'fruit(kiwi old)@main']);
  t.deepEqual(labels((await c.post('/search', { queryEmbedding: [0, 1, 0], scope: 'main' })).json.results), ['fruit(kiwi new)@main', 'fruit(kiwi old)@main'], 'main reads the present');
  const everywhere = (await c.post('/search', { query: 'mango' })).json.results as Hit[];
  t.deepEqual(labels(everywhere), ['fruit(kiwi old)@main'], 'every scope: main by its index, the fork by what it reads');
  t.deepEqual(((await c.post('/search', { query: 'kiwi' })).json.results as Hit[]).map((h) => h.args[0]).sort(), ['kiwi new', 'kiwi old']);
  await tellOk(c, { predicate: 'fruit', args: ['kiwi fork'], scope: 'past' });
  t.deepEqual(labels((await c.post('/search', { query: 'kiwi', scope: 'past' })).json.results), ['fruit(kiwi fork)@past', 'fruit(kiwi old)@past'], 'its own tells are found');
});

test('past-moment fork › a window with a query › only facts the fork reads', async (t) => {
  const c = await pastFork(t);
  const window = await c.post('/context/optimize', { query: 'kiwi', scope: 'past', maxFacts: 5 });
  t.is(window.status, 200, window.text);
  const relevant = (window.json.entries as (Hit & { why: { relevance: number } })[]).filter((e) => e.why.relevance > 0);
  t.deepEqual(labels(relevant), ['fruit(kiwi old)@past']);
  t.false(JSON.stringify(window.json.entries).includes('kiwi new'));
});

test('past-moment fork › /search by vector › no vector written after the moment', async (t) => {
  const c = await pastFork(t);
  const near = (await c.post('/search', { queryEmbedding: [0, 1, 0], scope: 'past' })).json.results as Hit[];
  t.deepEqual(labels(near), [], "kiwi new is not in the fork; kiwi old's [0,1,0] came after the moment");
  const unchanged = (await c.post('/search', { queryEmbedding: [0, 0, 1], scope: 'past' })).json.results as Hit[];
  // plum was retracted in main since: the fork reads it, but past vectors are not kept (as for asOf).
  t.deepEqual(labels(unchanged), ['fruit(pear)@past'], 'a vector the fork reads unchanged is found');
});
