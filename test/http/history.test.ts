// Transaction time over real HTTP: asOf reads (patterns, joins, rules, listings) before and after
// upserts, retractions and merges; valid time with it; GET /history and its MCP tool; fork at a
// past moment; revert; retention pruning.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { loadConfig } from '../../src/config.js';
import { HistoryReply, RevertReply } from '../../src/contract/history.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { assertError } from '../helpers/envelope.js';
import { uniqueName } from '../helpers/facts.js';
import { type Api, tenantApi } from '../helpers/server.js';
import { connect, ok } from '../mcp/client.js';

const test = anyTest as TestFn<{ server: RunningServer; dataDir: string }>;

test.before(async (t) => {
  t.context.dataDir = await mkdtemp(join(tmpdir(), 'vesper-history-'));
  t.context.server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: t.context.dataDir, LOG_LEVEL: 'silent' }));
});
test.after.always(async (t) => {
  await t.context.server?.close();
  await rm(t.context.dataDir, { recursive: true, force: true });
});

/** A moment strictly between the writes before and after it (the clock has millisecond resolution). */
async function moment(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 3));
  const now = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 3));
  return now;
}

async function post(client: Api, path: string, body: unknown): Promise<any> {
  const reply = await client.post(path, body);
  if (reply.status !== 200 && reply.status !== 201) throw new Error(`${path}: ${reply.status} ${reply.text}`);
  return reply.json;
}

/** The args of every result of an ask, sorted. */
async function answers(client: Api, body: Record<string, unknown>): Promise<unknown[]> {
  const reply = await post(client, '/ask', body);
  return reply.results.map((r: { args?: unknown[]; bindings: unknown }) => r.args ?? r.bindings).sort((a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

test('asOf › before and after an upsert and a retract › the pattern answers what was known then, with its record then', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('asof'));
  await post(client, '/tell', { predicate: 'plan', args: ['acme', 'pro'], confidence: 0.5, metadata: { source: 'crm' } });
  const afterTell = await moment();
  await post(client, '/tell', { predicate: 'plan', args: ['acme', 'pro'], confidence: 0.9 });
  await post(client, '/tell', { predicate: 'plan', args: ['bolt', 'free'] });
  const afterUpdate = await moment();
  t.is((await post(client, '/retract', { predicate: 'plan', args: ['acme', 'pro'] })).retracted, 1);
  const afterRetract = await moment();

  const then = await post(client, '/ask', { predicate: 'plan', args: ['acme', '?tier'], asOf: afterTell });
  t.is(then.results.length, 1);
  t.like(then.results[0], { args: ['acme', 'pro'], version: 1, confidence: 0.5, metadata: { source: 'crm' } });
  const updated = await post(client, '/ask', { predicate: 'plan', args: ['acme', '?tier'], asOf: new Date(afterUpdate).toISOString() });
  t.like(updated.results[0], { version: 2, confidence: 0.9, metadata: null });
  t.deepEqual((await post(client, '/ask', { predicate: 'plan', args: ['acme', '?tier'], asOf: afterRetract })).results, []);
  t.deepEqual((await post(client, '/ask', { predicate: 'plan', args: ['acme', '?tier'] })).results, []);
  // Before anything was told: nothing; the other fact appears at its own time.
  t.deepEqual(await answers(client, { predicate: 'plan', args: ['?c', '?t'], asOf: afterTell - 10_000 }), []);
  t.deepEqual(await answers(client, { predicate: 'plan', args: ['?c', '?t'], asOf: afterTell }), [['acme', 'pro']]);
  t.deepEqual(await answers(client, { predicate: 'plan', args: ['?c', '?t'], asOf: afterUpdate }), [['acme', 'pro'], ['bolt', 'free']]);

  // GET /facts takes the same moment.
  const listed = await client.get(`/facts?predicate=plan&asOf=${afterUpdate}`);
  t.is(listed.status, 200, listed.text);
  t.deepEqual(listed.json.facts.map((f: { args: unknown[] }) => f.args).sort(), [['acme', 'pro'], ['bolt', 'free']]);
  t.deepEqual((await client.get(`/facts?predicate=plan&asOf=${afterRetract}`)).json.facts.map((f: { args: unknown[] }) => f.args), [['bolt', 'free']]);
});

test('asOf › rules and joins › derived answers and conjunctive queries read the facts as they stood', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('asof-rules'));
  await post(client, '/teach', { head: { predicate: 'ancestor', args: ['?x', '?y'] }, body: [{ predicate: 'parent', args: ['?x', '?y'] }] });
  await post(client, '/teach', {
    head: { predicate: 'ancestor', args: ['?x', '?z'] },
    body: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'ancestor', args: ['?y', '?z'] }],
  });
  await post(client, '/tell', { facts: [{ predicate: 'parent', args: ['ann', 'bob'] }, { predicate: 'parent', args: ['bob', 'cid'] }] });
  const before = await moment();
  await post(client, '/retract', { predicate: 'parent', args: ['bob', 'cid'] });
  await post(client, '/tell', { predicate: 'parent', args: ['bob', 'dan'] });

  t.deepEqual(await answers(client, { predicate: 'ancestor', args: ['ann', '?who'] }), [['ann', 'bob'], ['ann', 'dan']]);
  t.deepEqual(await answers(client, { predicate: 'ancestor', args: ['ann', '?who'], asOf: before }), [['ann', 'bob'], ['ann', 'cid']]);
  const join = { query: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }] };
  t.deepEqual(await answers(client, join), [{ x: 'ann', y: 'bob', z: 'dan' }]);
  t.deepEqual(await answers(client, { ...join, asOf: before }), [{ x: 'ann', y: 'bob', z: 'cid' }]);
});

test('asOf › a merge › the target holds the merged facts from the merge on, not before', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('asof-merge'));
  await post(client, '/tell', { predicate: 'seen', args: ['a'] });
  await post(client, '/scope/fork', { source: 'main', target: 'work' });
  await post(client, '/tell', { predicate: 'seen', args: ['b'], scope: 'work' });
  await post(client, '/retract', { predicate: 'seen', args: ['a'], scope: 'work' });
  const beforeMerge = await moment();
  const merged = await post(client, '/scope/merge', { source: 'work', target: 'main', strategy: 'SOURCE_WINS' });
  t.is(merged.merged, 2);
  t.deepEqual(await answers(client, { predicate: 'seen', args: ['?x'], scope: 'main' }), [['b']]);
  t.deepEqual(await answers(client, { predicate: 'seen', args: ['?x'], scope: 'main', asOf: beforeMerge }), [['a']]);
});

test('validAt with asOf › what we knew at one moment about another', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('bitemporal'));
  const day = 86_400_000;
  const d3 = Date.UTC(2026, 0, 3);
  // Told: the role holds from the 1st to the 5th. Later corrected: it ended on the 2nd.
  await post(client, '/tell', { predicate: 'role', args: ['eve', 'admin'], validFrom: d3 - 2 * day, validUntil: d3 + 2 * day });
  const known = await moment();
  await post(client, '/tell', { predicate: 'role', args: ['eve', 'admin'], validFrom: d3 - 2 * day, validUntil: d3 - day });
  t.deepEqual(await answers(client, { predicate: 'role', args: ['eve', '?r'], validAt: d3 }), []);
  t.deepEqual(await answers(client, { predicate: 'role', args: ['eve', '?r'], validAt: d3, asOf: known }), [['eve', 'admin']]);
  t.deepEqual(await answers(client, { predicate: 'role', args: ['eve', '?r'], validAt: d3 - day - 1 }), [['eve', 'admin']]);
});

test('asOf › bad moments › 400 for garbage and for a time after the clock', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('asof-bad'));
  await post(client, '/tell', { predicate: 'p', args: [1] });
  for (const asOf of ['yesterday', '2026-13-45', -5, 1.5]) {
    assertError(t, await client.post('/ask', { predicate: 'p', args: ['?x'], asOf }), 400, 'VALIDATION_ERROR');
  }
  const future = await client.post('/ask', { predicate: 'p', args: ['?x'], asOf: Date.now() + 3_600_000 });
  assertError(t, future, 400, 'VALIDATION_ERROR');
  t.regex(future.json.message, /later than the server's clock/);
  t.is((await client.get('/facts?asOf=soon')).status, 400);
  t.is((await client.post('/scope/fork', { source: 'main', target: 'x', asOf: Date.now() + 3_600_000 })).status, 400);
  t.is((await client.post('/scope/revert', { scope: 'main', to: 'never' })).status, 400);
});

test('GET /history › versions newest first, told/updated/retracted, paged by cursor; MCP tool the same', async (t) => {
  const tenant = uniqueName('history');
  const client = tenantApi(t.context.server.url, tenant);
  await post(client, '/tell', { predicate: 'owner', args: ['doc1', 'amy'], metadata: { note: 'first' } });
  await moment();
  await post(client, '/tell', { predicate: 'owner', args: ['doc1', 'amy'], confidence: 0.7 });
  await moment();
  await post(client, '/retract', { predicate: 'owner', args: ['doc1', 'amy'] });
  await moment();
  await post(client, '/tell', { predicate: 'owner', args: ['doc2', 'ben'] });

  const one = await client.get(`/history?predicate=owner&args=${encodeURIComponent(JSON.stringify(['doc1', 'amy']))}`);
  t.is(one.status, 200, one.text);
  const versions = HistoryReply.parse(one.json).versions;
  t.deepEqual(versions.map((v) => [v.op, v.version]), [['retracted', 3], ['updated', 2], ['told', 1]]);
  t.like(versions[2], { predicate: 'owner', args: ['doc1', 'amy'], scope: 'main', confidence: 1, metadata: { note: 'first' } });
  t.like(versions[1], { confidence: 0.7, metadata: null });
  t.true((versions[0]?.time ?? 0) > (versions[1]?.time ?? 0));

  // The whole predicate, one version per page.
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const reply = await client.get(`/history?predicate=owner&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.is(reply.status, 200, reply.text);
    const page = HistoryReply.parse(reply.json);
    seen.push(...page.versions.map((v) => `${v.args[0]}:${v.op}`));
    cursor = page.cursor;
    pages++;
  } while (cursor !== null && pages < 10);
  t.deepEqual(seen, ['doc2:told', 'doc1:retracted', 'doc1:updated', 'doc1:told']);
  t.is((await client.get('/history?predicate=owner&args=notjson')).status, 400);
  t.is((await client.get('/history?predicate=owner&scope=nowhere')).json.versions.length, 0);

  const mcp = await connect(t.context.server.url, 'streamable', { 'X-Tenant-ID': tenant });
  try {
    const reply = await ok(mcp, 'history', { predicate: 'owner', args: ['doc1', 'amy'] });
    t.deepEqual(reply.versions.map((v: { op: string }) => v.op), ['retracted', 'updated', 'told']);
  } finally {
    await mcp.close();
  }
});

test('fork at a past moment and revert › asks equal the past state; the revert is history and can be reverted', async (t) => {
  const client = tenantApi(t.context.server.url, uniqueName('revert'));
  await post(client, '/tell', { facts: [{ predicate: 'stock', args: ['apple', 10] }, { predicate: 'stock', args: ['pear', 4] }] });
  await post(client, '/tell', { predicate: 'note', args: ['apple'], metadata: { ok: true } });
  const good = await moment();
  const pastState = await answers(client, { predicate: 'stock', args: ['?f', '?n'] });
  // The incident: a wrong batch.
  await post(client, '/retract', { predicate: 'stock', args: ['pear', 4] });
  await post(client, '/tell', { facts: [{ predicate: 'stock', args: ['plum', 99] }, { predicate: 'note', args: ['apple'], metadata: { ok: false } }] });

  const fork = await post(client, '/scope/fork', { source: 'main', target: 'before-incident', asOf: good });
  t.deepEqual(fork, { scope: 'before-incident', base: 'main', asOf: good });
  t.deepEqual(await answers(client, { predicate: 'stock', args: ['?f', '?n'], scope: 'before-incident' }), pastState);
  t.like((await post(client, '/ask', { predicate: 'note', args: ['apple'], scope: 'before-incident' })).results[0], { metadata: { ok: true } });
  // Writes to the fork see its past: telling pear again is an update of the version it holds.
  const told = await post(client, '/tell', { predicate: 'stock', args: ['pear', 4], scope: 'before-incident' });
  t.is(told.facts[0].version, 2);
  // Main keeps going meanwhile; the fork does not see it.
  await post(client, '/tell', { predicate: 'stock', args: ['kiwi', 1] });
  t.deepEqual(await answers(client, { predicate: 'stock', args: ['kiwi', '?n'], scope: 'before-incident' }), []);
  // Diff reads the fork's past: what main changed since (plum, the note) and kiwi are differences.
  const before = await post(client, '/scope/diff', { source: 'main', target: 'before-incident' });
  t.deepEqual(before.onlyInSource.map((f: { args: unknown[] }) => f.args).sort(), [['kiwi', 1], ['plum', 99]]);
  t.is(before.conflicts.length, 1, JSON.stringify(before.conflicts));

  const beforeRevert = await moment();
  const reverted = RevertReply.parse(await post(client, '/scope/revert', { scope: 'main', to: good }));
  t.deepEqual(reverted, { scope: 'main', to: good, restored: 2, retracted: 2, unchanged: 0 });
  t.deepEqual(await answers(client, { predicate: 'stock', args: ['?f', '?n'], scope: 'main' }), pastState);
  t.like((await post(client, '/ask', { predicate: 'note', args: ['apple'], scope: 'main' })).results[0], { metadata: { ok: true } });
  const diff = await post(client, '/scope/diff', { source: 'main', target: 'before-incident' });
  t.deepEqual([diff.onlyInSource.length, diff.onlyInTarget.length, diff.conflicts.length], [0, 0, 0], JSON.stringify(diff));

  // Revert the revert: back to the state just before it (the bad batch, and kiwi).
  const undo = await post(client, '/scope/revert', { scope: 'main', to: beforeRevert });
  t.is(undo.restored + undo.retracted, 4);
  t.deepEqual(await answers(client, { predicate: 'stock', args: ['?f', '?n'], scope: 'main' }), [['apple', 10], ['kiwi', 1], ['plum', 99]]);
  const history = await client.get(`/history?predicate=stock&args=${encodeURIComponent(JSON.stringify(['plum', 99]))}`);
  t.deepEqual(history.json.versions.map((v: { op: string }) => v.op), ['told', 'retracted', 'told']);
});

test('historyRetentionDays › the prune keeps what a read within the retention needs and drops the rest, tombstones included', async (t) => {
  const tenant = uniqueName('prune');
  const client = tenantApi(t.context.server.url, tenant);
  await post(client, '/tell', { predicate: 'v', args: ['x'], confidence: 0.1 });
  await post(client, '/tell', { predicate: 'v', args: ['x'], confidence: 0.2 });
  await post(client, '/tell', { predicate: 'gone', args: ['y'] });
  await post(client, '/retract', { predicate: 'gone', args: ['y'] });
  const cutoff = await moment();
  await post(client, '/tell', { predicate: 'v', args: ['x'], confidence: 0.3 });
  const versionsOf = async (predicate: string) => (await client.get(`/history?predicate=${predicate}`)).json.versions.map((v: { confidence: number | null }) => v.confidence);
  t.deepEqual(await versionsOf('v'), [0.3, 0.2, 0.1]);
  t.deepEqual(await versionsOf('gone'), [null, 1]);

  const retention = async (_database: string, name: string) => (name === tenant ? Date.now() - cutoff : 0);
  const pruned = await t.context.server.services.history.prune(retention);
  t.true(pruned.versions >= 3, JSON.stringify(pruned));
  t.true(pruned.tombstones >= 1, JSON.stringify(pruned));
  // v: the version that held at the cutoff stays (asOf the cutoff still answers), the older one goes.
  t.deepEqual(await versionsOf('v'), [0.3, 0.2]);
  t.deepEqual(await versionsOf('gone'), []);
  t.like((await post(client, '/ask', { predicate: 'v', args: ['x'], asOf: cutoff })).results[0], { confidence: 0.2 });
  // The tenant's count is unchanged by dropping a tombstone.
  const scopes = await client.get('/scopes');
  t.is(scopes.json.details.find((d: { name: string }) => d.name === 'main').facts, 1);
});

test('asOf › /context/optimize › the window as it would have been built then; read only; not with a session or a query', async (t) => {
  const c = tenantApi(t.context.server.url, uniqueName('asof-context'));
  await c.post('/tell', { facts: [{ predicate: 'plan', args: ['acme', 'pro'] }, { predicate: 'seats', args: ['acme', 10] }] });
  const before = await moment();
  await c.post('/tell', { predicate: 'seats', args: ['acme', 10], confidence: 0.5 }); // an upsert
  await c.post('/retract', { predicate: 'plan', args: ['acme', 'pro'] });
  await c.post('/tell', { predicate: 'owner', args: ['acme', 'ann'] });
  const labels = (reply: { json: { entries: { predicate: string; args: unknown[]; confidence: number }[] } }) =>
    reply.json.entries.map((e) => `${e.predicate}(${e.args.join(', ')})@${e.confidence}`).sort();
  const past = await c.post('/context/optimize', { maxFacts: 10, asOf: before });
  t.is(past.status, 200, past.text);
  t.deepEqual(labels(past), ['plan(acme, pro)@1', 'seats(acme, 10)@1']);
  const iso = await c.post('/context/optimize', { maxFacts: 10, asOf: new Date(before).toISOString() });
  t.deepEqual(labels(iso), labels(past));
  const present = await c.post('/context/optimize', { maxFacts: 10 });
  t.deepEqual(labels(present), ['owner(acme, ann)@1', 'seats(acme, 10)@0.5']);
  // Read only: the past window started no session.
  const diff = await c.post('/context/diff', { maxFacts: 10, sessionId: 'never-sent' });
  t.is(diff.json.fullRefreshRecommended, true);
  assertError(t, await c.post('/context/optimize', { maxFacts: 10, asOf: before, sessionId: 's1' }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { maxFacts: 10, asOf: before, query: 'acme' }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/context/optimize', { maxFacts: 10, asOf: Date.now() + 3_600_000 }), 400, 'VALIDATION_ERROR');
});

test('asOf › /search › text over the facts as they stood then (retracted since: found; told since: not); no queryEmbedding', async (t) => {
  const c = tenantApi(t.context.server.url, uniqueName('asof-search'));
  await c.post('/tell', { facts: [{ predicate: 'incident', args: ['inc-1', 'billing outage'] }, { predicate: 'note', args: ['lunch order'] }] });
  const before = await moment();
  await c.post('/retract', { predicate: 'incident', args: ['inc-1', 'billing outage'] });
  await c.post('/tell', { predicate: 'incident', args: ['inc-2', 'billing fixed'] });
  const hits = (reply: { json: { results: { args: unknown[] }[] } }) => reply.json.results.map((r) => r.args[0]);
  const past = await c.post('/search', { query: 'billing', asOf: before });
  t.is(past.status, 200, past.text);
  t.deepEqual(hits(past), ['inc-1']);
  t.like(past.json.results[0], { score: 1, why: { text: 1, matched: ['bill'], vector: null } });
  t.deepEqual(hits(await c.post('/search', { query: 'billing' })), ['inc-2']);
  assertError(t, await c.post('/search', { queryEmbedding: [1, 0, 0], asOf: before }), 400, 'VALIDATION_ERROR');
  assertError(t, await c.post('/search', { query: 'billing', asOf: Date.now() + 3_600_000 }), 400, 'VALIDATION_ERROR');
});
