/** Purge for erasure requests over real HTTP: every trace of a value goes, down to a raw key scan; the rest stays. */
import test from 'ava';
import { checkDatabase } from '../../src/store/check.js';
import { openStream } from '../events/stream.js';
import { openRawLevel } from '../helpers/backend.js';
import { assertError } from '../helpers/envelope.js';
import { tellOk } from '../helpers/facts.js';
import { api, startTestServer, tenantApi } from '../helpers/server.js';

const VALUE = 'user-42';

function ok(reply: { status: number; text: string }, status = 200): void {
  if (reply.status !== status) throw new Error(`setup: ${reply.status} ${reply.text}`);
}

test('purge › a value told in main and a fork, upserted, retracted, searched, in a session › no trace left, other facts intact', async (t) => {
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  let closed = false;
  try {
    const { url } = server;
    ok(await api(url).request('PUT', '/admin/databases/default/settings', { embeddingDimensions: 3 }));
    const c = tenantApi(url, 'acme');
    await tellOk(c, {
      facts: [
        { predicate: 'likes', args: [VALUE, 'tea'], metadata: { note: 'green tea' }, embedding: [1, 0, 0] },
        { predicate: 'likes', args: ['user-7', 'tea'], metadata: { note: 'black tea' }, embedding: [0.9, 0.1, 0] },
        { predicate: 'owns', args: [VALUE, 'car'] },
        { predicate: 'owns', args: ['user-7', 'bike'] },
      ],
    });
    ok(await c.post('/scope/fork', { source: 'main', target: 'alt' }), 201);
    await tellOk(c, { predicate: 'knows', args: ['bob', VALUE], scope: 'alt' });
    await tellOk(c, { predicate: 'likes', args: [VALUE, 'tea'], confidence: 0.5, scope: 'alt' }); // a version in the fork
    await tellOk(c, { predicate: 'likes', args: [VALUE, 'tea'], confidence: 0.7 }); // an upsert: history in main
    ok(await c.post('/retract', { predicate: 'owns', args: [VALUE, '?x'] })); // a tombstone and history
    await tellOk(c, { predicate: 'owns', args: ['user-7', 'car'] });
    const window = await c.post('/context/optimize', { sessionId: 's1', maxFacts: 20 });
    t.is(window.status, 200);
    t.true(window.text.includes(VALUE), 'the session shows the value before the purge');
    t.true((await c.post('/search', { query: 'tea', limit: 10 })).text.includes(VALUE));
    t.true((await c.get('/audit?limit=1000')).text.includes(VALUE));

    const purge = await api(url).post('/admin/databases/default/tenants/acme/purge', { match: { args: [VALUE] } });
    t.is(purge.status, 200, purge.text);
    // Counted per layer holding an entry (a fork puts new layers over main's): at least the 4 facts and 5 versions written.
    t.like(purge.json, { database: 'default', name: 'acme', purged: { sessions: 1 } });
    t.true(purge.json.purged.facts >= 4 && purge.json.purged.history >= 5, JSON.stringify(purge.json));
    t.true(purge.json.purged.events >= 4, JSON.stringify(purge.json));
    t.is(purge.json.purged.accessCounts, 2); // the two user-42 facts the window showed
    assertError(t, await api(url).post('/admin/databases/default/tenants/acme/purge', { match: { args: [] } }), 400, 'VALIDATION_ERROR');

    const everything = async (scope: string | null, predicate: string, arity: number) =>
      (await c.post('/ask', { predicate, args: Array.from({ length: arity }, (_, i) => `?v${i}`), scope, limit: 100 })).json;
    for (const scope of ['main', 'alt', null]) {
      for (const [predicate, arity] of [['likes', 2], ['owns', 2], ['knows', 2]] as const) {
        t.false(JSON.stringify(await everything(scope, predicate, arity)).includes(VALUE), `${predicate} in ${scope}`);
      }
    }
    t.is((await everything('main', 'likes', 2)).results.length, 1);
    t.is((await everything('main', 'owns', 2)).results.length, 2);
    for (const scope of ['main', 'alt']) {
      for (const predicate of ['likes', 'owns', 'knows']) {
        const history = await c.get(`/history?predicate=${predicate}&scope=${scope}`);
        t.is(history.status, 200);
        t.false(history.text.includes(VALUE), `history of ${predicate} in ${scope}`);
      }
    }
    t.true((await c.get('/history?predicate=owns&scope=main')).text.includes('user-7'));
    const search = await c.post('/search', { query: 'tea', limit: 10 });
    t.false(search.text.includes(VALUE));
    t.true(search.text.includes('user-7'));
    t.false((await c.post('/search', { queryEmbedding: [1, 0, 0], limit: 10 })).text.includes(VALUE));
    const audit = await c.get('/audit?limit=1000');
    t.false(audit.text.includes(VALUE));
    const last = audit.json.events.at(-1);
    t.like(last, { op: 'tenant_purged', outcome: 'ok', details: purge.json.purged });
    const stream = await openStream(`${url}/events?since=0`, { 'X-Tenant-ID': 'acme' });
    try {
      const replayed = await stream.waitFor(audit.json.events.length);
      t.false(JSON.stringify(replayed).includes(VALUE));
    } finally {
      stream.close();
    }
    const diff = await c.post('/context/diff', { sessionId: 's1', maxFacts: 20 });
    t.is(diff.status, 200);
    t.false(diff.text.includes(VALUE));
    // The same window request as before the purge: no cached pass of the context engine brings the value back.
    const again = await c.post('/context/optimize', { sessionId: 's1', maxFacts: 20 });
    t.is(again.status, 200);
    t.false(again.text.includes(VALUE));
    t.true(again.text.includes('user-7'));
    // The tenant takes writes again, and the value may be told anew.
    await tellOk(c, { predicate: 'likes', args: ['user-8', 'tea'] });

    await server.close({ keepData: true });
    closed = true;
    const raw = await openRawLevel(server.dataDir, 'default');
    try {
      const found: string[] = [];
      for await (const [key, value] of raw.level.iterator()) if (key.includes(VALUE) || value.includes(VALUE)) found.push(key);
      t.deepEqual(found, []);
      const checked = await checkDatabase('default', raw.level);
      t.deepEqual(checked.problems, []);
    } finally {
      await raw.close();
    }
  } finally {
    if (!closed) await server.close();
    else await server.close().catch(() => undefined);
  }
});

test('purge › narrowed to a predicate › only that predicate\'s facts go; a tenant never written › zero counts, not created', async (t) => {
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  try {
    const { url } = server;
    const c = tenantApi(url, 'narrow');
    await tellOk(c, { facts: [{ predicate: 'email', args: [VALUE, 'a@x'] }, { predicate: 'plan', args: [VALUE, 'pro'] }, { predicate: 'email', args: ['user-421', 'b@x'] }] });
    const purge = await api(url).post('/admin/databases/default/tenants/narrow/purge', { match: { args: [VALUE], predicate: 'email' } });
    t.is(purge.status, 200, purge.text);
    t.like(purge.json.purged, { facts: 1, history: 1, sessions: 0, accessCounts: 0 });
    const emails = await c.post('/ask', { predicate: 'email', args: ['?u', '?e'] });
    t.deepEqual(emails.json.results.map((r: { args: unknown[] }) => r.args), [['user-421', 'b@x']]);
    const plans = await c.post('/ask', { predicate: 'plan', args: ['?u', '?p'] });
    t.deepEqual(plans.json.results.map((r: { args: unknown[] }) => r.args), [[VALUE, 'pro']]);
    // A number: only where it is an argument, not wherever the digits appear (times, sequence numbers, counts).
    await tellOk(c, { predicate: 'age', args: ['zed', 42] });
    await tellOk(c, { predicate: 'age', args: ['amy', 7], metadata: { note: 42 } });
    const before = (await c.get('/audit?limit=1000')).json.events.length;
    const numeric = await api(url).post('/admin/databases/default/tenants/narrow/purge', { match: { args: [42] } });
    t.like(numeric.json.purged, { facts: 1, history: 1, events: 1 });
    t.deepEqual((await c.post('/ask', { predicate: 'age', args: ['?u', '?a'] })).json.results.map((r: { args: unknown[] }) => r.args), [['amy', 7]]);
    t.is((await c.get('/audit?limit=1000')).json.events.length, before); // one tell gone, the purge recorded
    const none = await api(url).post('/admin/databases/default/tenants/ghost/purge', { match: { args: [VALUE] } });
    t.deepEqual(none.json, { database: 'default', name: 'ghost', purged: { facts: 0, history: 0, events: 0, sessions: 0, accessCounts: 0 } });
    t.false((await api(url).get('/admin/databases/default/tenants')).text.includes('ghost'));
  } finally {
    await server.close();
  }
});
