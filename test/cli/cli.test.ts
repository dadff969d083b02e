import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { freePort } from '../helpers/child.js';
import { type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import { buildCli } from './build.js';

const test = anyTest as TestFn<{ server: TestServer; entry: string; dir: string; modules: string[] }>;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

test.before(async (t) => {
  const [built, server] = await Promise.all([buildCli(), startTestServer()]);
  Object.assign(t.context, built, { server });
});
test.after.always(async (t) => {
  await t.context.server?.close();
  if (t.context.dir) await rm(t.context.dir, { recursive: true, force: true });
});

/** Run the built CLI; the environment carries only what the test gives (no VESPER_* of the machine). */
function vesper(t: { context: { entry: string; server: TestServer } }, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VESPER_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [t.context.entry, ...args], { env: { ...base, VESPER_URL: t.context.server.url, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('vesper tell / ask › human output, numbers parsed unless quoted, ?x variables', async (t) => {
  const env = { VESPER_TENANT: 'cli-facts' };
  const told = await vesper(t, ['tell', 'plan', 'acme', 'enterprise'], env);
  t.is(told.code, 0, told.stderr);
  t.is(told.stdout, 'told plan(acme, enterprise) [main] v1\n');
  t.is((await vesper(t, ['tell', 'seats', 'acme', '120'], env)).code, 0);
  const asked = await vesper(t, ['ask', 'plan', 'acme', '?tier'], env);
  t.is(asked.stdout, '?tier = enterprise    plan(acme, enterprise) [main]\n');
  t.regex((await vesper(t, ['ask', 'seats', '?c', '120'], env)).stdout, /\?c = acme/);
  t.is((await vesper(t, ['ask', 'seats', 'acme', '"120"'], env)).stdout, 'no results\n');
  const negated = await vesper(t, ['tell', 'churned', 'acme', '--negated', '--scope', 'q2'], env);
  t.is(negated.stdout, 'told NOT churned(acme) [q2] v1\n');
});

test('vesper ask --json › prints the server reply', async (t) => {
  const env = { VESPER_TENANT: 'cli-json' };
  await vesper(t, ['tell', 'temp', 'oslo', '--', '-3.5'], env);
  const asked = await vesper(t, ['ask', 'temp', '?city', '?c', '--json'], env);
  t.is(asked.code, 0, asked.stderr);
  const reply = JSON.parse(asked.stdout);
  t.deepEqual(reply.results.map((r: any) => r.args), [['oslo', -3.5]]);
  t.deepEqual(reply.results[0].bindings, { city: 'oslo', c: -3.5 });
});

test('vesper --tenant / --database flags › override the environment', async (t) => {
  await vesper(t, ['tell', 'where', 'flag', '--tenant', 'cli-flag', '--database', 'clidb'], { VESPER_TENANT: 'ignored' });
  const rest = await tenantApi(t.context.server.url, 'cli-flag', 'clidb').post('/ask', { predicate: 'where', args: ['?w'] });
  t.is(rest.json.results.length, 1);
});

test('vesper scopes / fork / diff / merge', async (t) => {
  const env = { VESPER_TENANT: 'cli-scopes' };
  await vesper(t, ['tell', 'status', 'acme', 'trial'], env);
  t.is((await vesper(t, ['fork', 'main', 'h1'], env)).stdout, 'forked main -> h1\n');
  await vesper(t, ['tell', 'status', 'acme', 'paid', '--scope', 'h1'], env);
  const scopes = await vesper(t, ['scopes'], env);
  t.regex(scopes.stdout, /^SCOPE\s+FACTS\s+BASE\n/);
  t.regex(scopes.stdout, /h1\s+\d+\s+main/);
  const diff = await vesper(t, ['diff', 'h1', 'main'], env);
  t.is(diff.stdout, '+ status(acme, paid) [h1]\n1 only in h1, 0 only in main, 1 in both, 0 conflicts\n');
  const merged = await vesper(t, ['merge', 'h1', 'main', '--strategy', 'source_wins'], env);
  t.is(merged.stdout, 'merged 1 change(s) from h1 into main (SOURCE_WINS, 0 conflict(s) resolved)\n');
  const json = JSON.parse((await vesper(t, ['merge', 'h1', 'main', '--json'], env)).stdout);
  t.like(json, { result: 'up-to-date', merged: 0 });
  const again = await vesper(t, ['fork', 'main', 'h1'], env);
  t.is(again.code, 1);
  t.regex(again.stderr, /CONFLICT/);
  t.is(again.stdout, '');
});

test('vesper › usage errors exit 2', async (t) => {
  const cases = [['bogus'], ['tell'], ['fork', 'main'], ['ask', 'p', '--negated'], ['scopes', '--nope'], ['merge', 'a', 'b', '--strategy', 'YOLO'], ['watch', '--since', 'x'], ['tell', 'p', '-5']];
  const results = await Promise.all(cases.map((args) => vesper(t, args)));
  results.forEach((result, i) => {
    t.is(result.code, 2, `${cases[i]?.join(' ')}: ${result.stderr}`);
    t.regex(result.stderr, /vesper: /);
  });
  const help = await vesper(t, ['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^usage: vesper/);
});

test('vesper › an unreachable server exits 3, a server error 1', async (t) => {
  const port = await freePort();
  const down = await vesper(t, ['scopes'], { VESPER_URL: `http://127.0.0.1:${port}` });
  t.is(down.code, 3);
  t.regex(down.stderr, /cannot connect/);
  const watchDown = await vesper(t, ['watch'], { VESPER_URL: `http://127.0.0.1:${port}` });
  t.is(watchDown.code, 3);
  const invalid = await vesper(t, ['ask', 'p', '--tenant', 'bad/name']);
  t.is(invalid.code, 1);
  t.regex(invalid.stderr, /VALIDATION_ERROR/);
});

test('vesper watch › prints a change made while it runs, one line per event', async (t) => {
  const child: ChildProcess = spawn(process.execPath, [t.context.entry, 'watch', '--since', '0', '--tenant', 'cli-watch', '--url', t.context.server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    await tenantApi(t.context.server.url, 'cli-watch').post('/tell', { predicate: 'ping', args: ['one', 1] });
    await tenantApi(t.context.server.url, 'cli-watch').post('/scope/fork', { source: 'main', target: 'w1' });
    const deadline = Date.now() + 10_000;
    while (stdout.split('\n').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = stdout.trim().split('\n');
    t.is(lines.length, 2, stdout);
    t.regex(lines[0] ?? '', /^#\d+ \d{4}-\d\d-\d\dT[\d:.]+Z told ping\(one, 1\) \[main\]$/);
    t.regex(lines[1] ?? '', /^#\d+ \S+ scope_forked main -> w1$/);
  } finally {
    child.kill('SIGTERM');
  }
  const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode))));
  t.is(code, 0);
});

test('the built CLI › loads the operation table but no store, engine or server code', (t) => {
  t.true(t.context.modules.includes('operations/index.ts'), 'commands come from the operation table');
  const heavy = t.context.modules.filter((m) => /^(store|engine|scopes|encoding|http|mcp)\//.test(m) || m === 'server.ts');
  t.deepEqual(heavy, []);
});

test('package.json › bin vesper points at the built CLI', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  t.is(pkg.bin?.vesper, 'dist/cli/vesper.js');
  t.true((await readFile(new URL('../../src/cli/vesper.ts', import.meta.url), 'utf8')).startsWith('#!/usr/bin/env node\n'));
});

test('vesper facts / predicates › list what is stored, page by page; the vocabulary with counts', async (t) => {
  const env = { VESPER_TENANT: 'cli-listing' };
  for (const args of [['tell', 'plan', 'acme', 'enterprise'], ['tell', 'plan', 'globex', 'free'], ['tell', 'seats', 'acme', '120']]) t.is((await vesper(t, args, env)).code, 0);
  const all = await vesper(t, ['facts', '--predicate', 'plan'], env);
  t.is(all.code, 0, all.stderr);
  t.is(all.stdout, 'plan(acme, enterprise) [main]\nplan(globex, free) [main]\n');
  const first = await vesper(t, ['facts', '--limit', '1', '--json'], env);
  const page = JSON.parse(first.stdout);
  t.is(page.facts.length, 1);
  t.truthy(page.cursor);
  const next = JSON.parse((await vesper(t, ['facts', '--limit', '5', '--cursor', page.cursor, '--json'], env)).stdout);
  t.is(next.facts.length, 2, 'the next page holds the rest');
  t.is(next.cursor, null);
  const other = await vesper(t, ['facts', '--predicate', 'seats', '--cursor', page.cursor], env);
  t.is(other.code, 1, 'a cursor belongs to the query that made it');
  const predicates = await vesper(t, ['predicates'], env);
  t.is(predicates.stdout, 'PREDICATE  ARITY  FACTS  RULES\nplan           2      2      0\nseats          2      1      0\n');
  t.is((await vesper(t, ['facts', '--limit', 'x'], env)).code, 2);
  t.regex((await vesper(t, ['--help'])).stdout, /facts \[--predicate P\].*List the tenant's stored facts/);
});
