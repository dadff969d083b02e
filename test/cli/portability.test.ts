import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { tellOk } from '../helpers/facts.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { buildCli } from './build.js';

const test = anyTest as TestFn<{ server: TestServer; entry: string; dir: string; files: string }>;

test.before(async (t) => {
  const [built, server, files] = await Promise.all([buildCli(), startTestServer({ VESPER_RATE_LIMIT: '0' }), mkdtemp(join(tmpdir(), 'vesper-cli-export-'))]);
  Object.assign(t.context, built, { server, files });
});
test.after.always(async (t) => {
  await t.context.server?.close();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
  if (t.context.files) await rm(t.context.files, { recursive: true, force: true });
});

function vesper(t: { context: { entry: string; server: TestServer } }, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VESPER_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [t.context.entry, ...args], { env: { ...base, VESPER_URL: t.context.server.url }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

test('vesper export / import › a tenant exported to a file and imported into another answers the same', async (t) => {
  const { url } = t.context.server;
  const source = tenantApi(url, 'cli_exp');
  await tellOk(source, { facts: Array.from({ length: 500 }, (_, i) => ({ predicate: 'n', args: [i] })) });
  t.is((await source.post('/scope/fork', { source: 'main', target: 'alt' })).status, 201);
  await tellOk(source, { predicate: 'n', args: [500], scope: 'alt' });
  const exported = await vesper(t, ['export', '--tenant', 'cli_exp']);
  t.is(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n');
  t.is(lines.length, 1 + 3 + 2 + 501 + 501 + 1, 'header, 3 layers (main\'s root, main\'s and alt\'s heads), 2 scopes, entries, their versions, end');
  const file = join(t.context.files, 'cli_exp.jsonl');
  await writeFile(file, exported.stdout);
  const imported = await vesper(t, ['import', file, '--tenant', 'cli_imp']);
  t.is(imported.code, 0, imported.stderr);
  t.is(imported.stdout, 'imported 501 facts, 0 rules, 2 scopes, 3 layers\n');
  const copy = tenantApi(url, 'cli_imp');
  t.is((await copy.post('/ask', { predicate: 'n', args: ['?x'], scope: 'main', limit: 1000 })).json.results.length, 500);
  // The fork is a fork again: the diff reads what it changed since main, and main's 500 facts are in both.
  const diff = { source: 'alt', target: 'main' };
  const tenantless = (reply: { text: string }) => JSON.parse(reply.text.replaceAll('~cli_imp', '~cli_exp'));
  t.deepEqual(tenantless(await copy.post('/scope/diff', diff)), tenantless(await source.post('/scope/diff', diff)));
  t.like((await copy.post('/scope/diff', diff)).json, { onlyInTarget: [], inBoth: 500 });
  const again = await vesper(t, ['import', file, '--tenant', 'cli_imp']);
  t.is(again.code, 1);
  t.regex(again.stderr, /CONFLICT: tenant 'cli_imp' is not empty/);
  await writeFile(file, 'not json\n');
  const bad = await vesper(t, ['import', file, '--tenant', 'cli_bad']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /VALIDATION_ERROR: import line 1: not JSON/);
});
