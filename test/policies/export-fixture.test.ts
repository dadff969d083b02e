/**
 * The committed version-3 export (test/fixtures/export-v3.jsonl, made by make-export-v3.ts) decodes
 * line by line and imports over real HTTP with its layout: later versions must keep reading it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { decodeExportLine } from '../../src/contract/portability.js';
import { uniqueName } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer; text: string }>;

test.before(async (t) => {
  const [server, text] = await Promise.all([startTestServer({ VESPER_RATE_LIMIT: '0' }), readFile(path.join(import.meta.dirname, '..', 'fixtures', 'export-v3.jsonl'), 'utf8')]);
  Object.assign(t.context, { server, text });
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

test('export fixture v3 › every line decodes by the version-3 grammar, in the order of the kinds', (t) => {
  const lines = t.context.text.trim().split('\n');
  const decoded = lines.map((line, i) => decodeExportLine(line, i === 0 ? null : 3));
  t.true(decoded.every((d) => d.version === 3));
  decoded.forEach((d, i) => t.deepEqual(d.line, JSON.parse(lines[i] as string)));
  const kinds = [...new Set(decoded.map((d) => d.line.kind))];
  t.deepEqual(kinds, ['header', 'layer', 'scope', 'rule', 'entry', 'history', 'session', 'access', 'end']);
  // A line of another version's grammar does not decode as version 3.
  t.throws(() => decodeExportLine('{"kind":"fact","scope":"main","predicate":"p","args":[],"negated":false,"version":1,"confidence":1,"createdAt":0,"updatedAt":0,"ttl":null,"expiresAt":null,"validFrom":null,"validUntil":null,"metadata":null}', 3), { message: /^kind: / });
  t.throws(() => decodeExportLine('{"kind":"entry","layer":0,"predicate":"p","args":[],"negated":false,"record":null}', 3), { message: /either a record or a retractedAt/ });
});

test('export fixture v3 › imports with its layout: forks read through their bases, the past-moment fork as it was, diffs from the merge base', async (t) => {
  const { url } = t.context.server;
  const tenant = uniqueName('fixture');
  const reply = await fetch(`${url}/admin/databases/default/tenants/${tenant}/import`, { method: 'POST', body: t.context.text });
  t.is(reply.status, 201);
  t.deepEqual(((await reply.json()) as { imported: unknown }).imported, { layers: 10, scopes: 5, rules: 1, facts: 7, retractions: 2, versions: 11, sessions: 1, accessCounts: 3 });
  const b = tenantApi(url, tenant);
  const scopes = (await b.get('/scopes')).json.details.map((d: any) => [d.name, d.base, d.facts]);
  t.deepEqual(scopes, [['feature', 'main', 4], ['main', null, 3], ['then', 'main', 3], ['trial', 'main', 2], ['trial2', 'trial', 3]]);
  const ask = async (body: Record<string, unknown>) => (await b.post('/ask', body)).json.results.map((r: any) => r.args.join(' ')).sort();
  t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'main' }), ['acme 25']);
  t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'then' }), ['acme 10'], 'the fork at a past moment reads main as it was');
  t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'trial2' }), ['acme 25', 'acme 5']);
  t.deepEqual(await ask({ predicate: 'paying', args: ['?c'], scope: 'main' }), ['acme']);
  t.deepEqual(await ask({ predicate: 'paying', args: ['?c'], scope: 'trial' }), [], "trial's retraction hides main's plan");
  const cutoff = 1795724714199;
  t.deepEqual(await ask({ predicate: 'seats', args: ['acme', '?n'], scope: 'main', asOf: cutoff }), ['acme 10'], 'history travels: main as of then');
  const diff = async (source: string, target: string) => {
    const d = (await b.post('/scope/diff', { source, target })).json;
    return [d.onlyInSource.map((f: any) => `${f.predicate} ${f.args.join(' ')}`), d.onlyInTarget.map((f: any) => `${f.predicate} ${f.args.join(' ')}`), d.inBoth];
  };
  t.deepEqual(await diff('feature', 'main'), [['addon acme audit'], [], 3], 'from the merge base: sso is in both');
  t.deepEqual(await diff('trial2', 'trial'), [['region acme eu'], [], 2]);
  t.deepEqual(await diff('trial', 'main'), [['seats acme 5'], ['addon acme sso', 'plan acme pro'], 1]);
  const merged = (await b.post('/scope/merge', { source: 'feature', target: 'main' })).json;
  t.like(merged, { result: 'merged', merged: 1, conflicts: [] });
});
