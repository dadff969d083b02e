import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { type TestServer, startTestServer } from '../helpers/server.js';

/**
 * The README's examples are tested code. Every line of a ```sh block that starts with `curl ` runs,
 * in order, with bash against a fresh server (localhost:9300 rewritten to it, ADMIN_KEY unset);
 * a following `# → <json>` line in the same block is the expected reply, matched partially:
 * objects by a subset of keys, arrays by equal length and element by element. Every curl must
 * print JSON.
 */

const test = anyTest as TestFn<{ server: TestServer }>;
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const run = promisify(execFile);

interface CurlExample {
  readonly line: number;
  readonly command: string;
  /** The text after `# →`, when the README gives one. */
  readonly expected: string | null;
}

/** The curl examples of the ```sh blocks, in order; `\` continuations are joined. */
function curlExamples(markdown: string): CurlExample[] {
  const lines = markdown.split('\n');
  const examples: CurlExample[] = [];
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*```/.test(line)) {
      inSh = !inSh && /^\s*```(sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inSh || !line.startsWith('curl ')) continue;
    const start = i;
    let command = line;
    while (command.endsWith('\\') && i + 1 < lines.length) command = command.slice(0, -1) + ' ' + (lines[++i] as string).trim();
    const next = lines[i + 1] ?? '';
    const arrow = /^#\s*(?:→|->)\s*(.*)$/.exec(next.trim());
    examples.push({ line: start + 1, command, expected: arrow ? (arrow[1] as string) : null });
  }
  return examples;
}

/** Where `actual` fails to contain `expected` (empty when it does). */
function partialMismatches(actual: unknown, expected: unknown, path = '$'): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length) return [`${path}: expected ${expected.length} elements, got ${actual.length}: ${JSON.stringify(actual).slice(0, 300)}`];
    return expected.flatMap((e, i) => partialMismatches(actual[i], e, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([k, e]) =>
      k in actual ? partialMismatches((actual as Record<string, unknown>)[k], e, `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return Object.is(actual, expected) || actual === expected ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

/** Point the README's commands at the test server. */
function localise(command: string, url: string): string {
  const host = new URL(url).host;
  return command.replaceAll('http://localhost:9300', url).replaceAll('localhost:9300', host).replaceAll('127.0.0.1:9300', host);
}

test('README › the partial matcher › subset of keys, arrays of equal length, element-wise', (t) => {
  t.deepEqual(partialMismatches({ a: 1, b: [{ c: 2, d: 3 }], e: null }, { b: [{ c: 2 }], e: null }), []);
  t.deepEqual(partialMismatches({ results: [] }, { results: [] }), []);
  t.is(partialMismatches({ results: [1, 2] }, { results: [1] }).length, 1, 'length differs');
  t.is(partialMismatches({ n: 30 }, { n: '30' }).length, 1, '30 is not "30"');
  t.is(partialMismatches({ a: 1 }, { a: 1, b: null }).length, 1, 'missing key');
  t.is(partialMismatches([{ a: 1 }], { a: 1 }).length, 1, 'array is not an object');
  t.deepEqual(
    curlExamples('x\n```sh\ncurl -s a \\\n  -d b\n# → {"ok":true}\ncurl c\n```\n```json\ncurl d\n```'),
    [
      { line: 3, command: 'curl -s a  -d b', expected: '{"ok":true}' },
      { line: 6, command: 'curl c', expected: null },
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
    t.context.server = await startTestServer();
  });

  test.after.always(async (t) => {
    await t.context.server?.close();
  });

  test('README › has curl examples', (t) => {
    t.true(examples.length > 0, 'no line starting with "curl " inside a ```sh block');
  });

  const env = { ...process.env };
  delete env.ADMIN_KEY;

  for (const [n, example] of examples.entries()) {
    const title = example.command.replace(/^curl\s+(-s\s+)?/, '').slice(0, 90);
    test.serial(`README › curl #${n + 1} (line ${example.line}) › ${title}`, async (t) => {
      const command = localise(example.command, t.context.server.url);
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
        expected = JSON.parse(example.expected);
      } catch {
        t.fail(`README line ${example.line + 1}: the expected reply after "# →" is not JSON: ${example.expected}`);
        return;
      }
      const mismatches = partialMismatches(reply, expected);
      t.deepEqual(mismatches, [], `README line ${example.line}: ${command}\nreply: ${stdout.slice(0, 1000)}`);
    });
  }
}
