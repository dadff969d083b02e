import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { type TestServer, startTestServer } from '../helpers/server.js';

/**
 * The README's examples are tested code. Every line of a ```sh block that starts with `curl ` runs,
 * in order, with bash against a fresh server (localhost:9300 rewritten to it); those of "Sandbox and
 * claim" against a third one (auth and sandboxes on, demo tenant `demo`); the examples of the
 * "Security" section run against a second server with auth on, `$ADMIN_KEY` set to its admin key.
 * A following `# → <json>` line in the same block is the expected reply, whole: objects with the
 * same keys, arrays of the same length. `…` marks what is left out: `{"a":1,…}` more keys,
 * `[{…},…]` more elements, `"createdAt":…` any value, `"ctx_…"` a string with that prefix.
 * Every curl must print JSON.
 */

const test = anyTest as TestFn<{ server: TestServer; secure: TestServer; sandbox: TestServer }>;
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const run = promisify(execFile);
const ADMIN_KEY = 'readme-admin-key-0123456789abcdef';

interface CurlExample {
  readonly line: number;
  readonly command: string;
  /** The text after `# →`, when the README gives one. */
  readonly expected: string | null;
  /** The `## ` heading the example is under. */
  readonly section: string;
}

/** The curl examples of the ```sh blocks, in order; `\` continuations are joined. */
function curlExamples(markdown: string): CurlExample[] {
  const lines = markdown.split('\n');
  const examples: CurlExample[] = [];
  let inSh = false;
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*```/.test(line)) {
      inSh = !inSh && /^\s*```(sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inSh && line.startsWith('## ')) section = line.slice(3).trim();
    if (!inSh || !line.startsWith('curl ')) continue;
    const start = i;
    let command = line;
    while (command.endsWith('\\') && i + 1 < lines.length) command = command.slice(0, -1) + ' ' + (lines[++i] as string).trim();
    const next = lines[i + 1] ?? '';
    const arrow = /^#\s*(?:→|->)\s*(.*)$/.exec(next.trim());
    examples.push({ line: start + 1, command, expected: arrow ? (arrow[1] as string) : null, section });
  }
  return examples;
}

/** What `…` stands for once parsed: any value, or "and more" (a key of an object, the last element of an array). */
const ANY = '\u0000any';
const MORE = '\u0000more';

/** The expected reply as JSON, with each `…` outside a string turned into its marker. */
function parseExpected(text: string): unknown {
  let out = '';
  let inString = false;
  const open: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') open.push(c);
    else if (c === '}' || c === ']') open.pop();
    if (c !== '…') {
      out += c;
      continue;
    }
    if (out.trimEnd().endsWith(':')) out += JSON.stringify(ANY);
    else out += open.at(-1) === '{' ? `${JSON.stringify(MORE)}:true` : JSON.stringify(MORE);
  }
  return JSON.parse(out);
}

/** Where `actual` differs from `expected` (empty when it matches). */
function mismatches(actual: unknown, expected: unknown, path = '$'): string[] {
  const shown = (value: unknown) => JSON.stringify(value)?.slice(0, 300);
  if (expected === ANY) return [];
  if (typeof expected === 'string' && expected.endsWith('…')) {
    return typeof actual === 'string' && actual.startsWith(expected.slice(0, -1)) ? [] : [`${path}: expected a string starting ${shown(expected.slice(0, -1))}, got ${shown(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${shown(actual)}`];
    const more = expected.at(-1) === MORE;
    const items = more ? expected.slice(0, -1) : expected;
    if (more ? actual.length < items.length : actual.length !== items.length) return [`${path}: expected ${more ? 'at least ' : ''}${items.length} elements, got ${actual.length}: ${shown(actual)}`];
    return items.flatMap((e, i) => mismatches(actual[i], e, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: expected an object, got ${shown(actual)}`];
    const keys = Object.keys(expected).filter((k) => k !== MORE);
    const problems = keys.flatMap((k) => (k in actual ? mismatches((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`) : [`${path}.${k}: missing`]));
    if (!(MORE in expected)) problems.push(...Object.keys(actual).filter((k) => !keys.includes(k)).map((k) => `${path}.${k}: not in the README (add it, or mark the reply abbreviated with …)`));
    return problems;
  }
  return Object.is(actual, expected) ? [] : [`${path}: expected ${shown(expected)}, got ${shown(actual)}`];
}

/** Point the README's commands at the test server. */
function localise(command: string, url: string): string {
  const host = new URL(url).host;
  return command.replaceAll('http://localhost:9300', url).replaceAll('localhost:9300', host).replaceAll('127.0.0.1:9300', host);
}

test('README › the matcher › whole replies exactly, … for what is left out', (t) => {
  const check = (actual: unknown, expected: string) => mismatches(actual, parseExpected(expected));
  t.deepEqual(check({ a: 1, b: [{ c: 2 }] }, '{"a":1,"b":[{"c":2}]}'), []);
  t.is(check({ a: 1, b: 2 }, '{"a":1}').length, 1, 'a key the README does not show');
  t.deepEqual(check({ a: 1, b: 2 }, '{"a":1,…}'), []);
  t.deepEqual(check({ a: 1, t: 1712 }, '{"a":1,"t":…}'), []);
  t.deepEqual(check({ r: [1, 2, 3] }, '{"r":[1,…]}'), []);
  t.is(check({ r: [1, 2] }, '{"r":[1]}').length, 1, 'length differs');
  t.deepEqual(check({ r: [] }, '{"r":[…]}'), []);
  t.deepEqual(check({ id: 'ctx_123' }, '{"id":"ctx_…"}'), []);
  t.is(check({ id: 'key_1' }, '{"id":"ctx_…"}').length, 1);
  t.is(check({ n: 30 }, '{"n":"30"}').length, 1, '30 is not "30"');
  t.deepEqual(check({ s: 'a…b' }, '{"s":"a…b"}'), [], '… inside a string is text');
  t.deepEqual(
    curlExamples('## A\n```sh\ncurl -s a \\\n  -d b\n# → {"ok":true}\n```\n## B\n```sh\ncurl c\n```\n```json\ncurl d\n```'),
    [
      { line: 3, command: 'curl -s a  -d b', expected: '{"ok":true}', section: 'A' },
      { line: 9, command: 'curl c', expected: null, section: 'B' },
    ],
  );
});

// Read synchronously: ava wants every test declared before the first tick.
const markdown = existsSync(README) ? readFileSync(README, 'utf8') : null;

if (markdown === null) {
  test('README › exists with curl examples', (t) => {
    t.fail(`README.md not found at ${README}: this file runs the README's \`curl\` examples (lines starting with "curl " in \`\`\`sh blocks, each optionally followed by "# → <json>"), so the README must exist.`);
  });
} else {
  const examples = curlExamples(markdown);

  test.before(async (t) => {
    [t.context.server, t.context.secure, t.context.sandbox] = await Promise.all([
      startTestServer({ VESPER_BASE_HOST: 'example.com' }),
      startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY }),
      startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY, VESPER_SANDBOX: '1', VESPER_SANDBOX_PER_HOUR: '0', VESPER_SANDBOX_DEMO_TENANT: 'demo' }),
    ]);
  });

  test.after.always(async (t) => {
    await Promise.all([t.context.server?.close(), t.context.secure?.close(), t.context.sandbox?.close()]);
  });

  test('README › has curl examples', (t) => {
    t.true(examples.length > 0, 'no line starting with "curl " inside a ```sh block');
  });

  const open = { ...process.env };
  delete open.ADMIN_KEY;
  const secured = { ...open, ADMIN_KEY };

  test('README › the Security section has examples (run with auth on)', (t) => {
    t.true(examples.some((e) => e.section === 'Security'));
  });

  for (const [n, example] of examples.entries()) {
    const title = example.command.replace(/^curl\s+(-s\s+)?/, '').slice(0, 90);
    test.serial(`README › curl #${n + 1} (line ${example.line}) › ${title}`, async (t) => {
      // "Sandbox and claim" runs against a third server: auth on, sandboxes on, demo tenant `demo`.
      const sandbox = example.section === 'Sandbox and claim';
      const secure = example.section === 'Security' || sandbox;
      const command = localise(example.command, (sandbox ? t.context.sandbox : secure ? t.context.secure : t.context.server).url);
      const env = secure ? secured : open;
      let stdout: string;
      try {
        ({ stdout } = await run('bash', ['-c', command], { env, timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }));
      } catch (error) {
        t.fail(`README line ${example.line}: the command failed: ${command}\n${String((error as { stderr?: string }).stderr ?? error)}`);
        return;
      }
      let reply: unknown;
      try {
        reply = JSON.parse(stdout);
      } catch {
        t.fail(`README line ${example.line}: the reply is not JSON: ${stdout.slice(0, 500)}\ncommand: ${command}`);
        return;
      }
      if (example.expected === null) {
        t.pass();
        return;
      }
      let expected: unknown;
      try {
        expected = parseExpected(example.expected);
      } catch {
        t.fail(`README line ${example.line + 1}: the expected reply after "# →" is not JSON: ${example.expected}`);
        return;
      }
      t.deepEqual(mismatches(reply, expected), [], `README line ${example.line}: ${command}\nreply: ${stdout.slice(0, 1000)}`);
    });
  }
}
