// abstract-level's conformance suite against PostgresLevel, as part of `npm test` when a server is
// given (VESPER_TEST_PG_URL; `npm run pg:up` prints it). It runs the tape suite of
// test/backends/pg-conformance.ts in a child process and checks its TAP summary.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import test from 'ava';

const url = process.env.VESPER_TEST_PG_URL || undefined;
const ROOT = join(import.meta.dirname, '..', '..');

if (!url) test.skip('abstract-level conformance on PostgreSQL › VESPER_TEST_PG_URL is not set › skipped (npm run pg:up prints the URL to set)', () => {});

(url ? test : test.skip)('abstract-level conformance on PostgreSQL › the whole suite, on a database and on a sublevel › every assertion passes', async (t) => {
  t.timeout(10 * 60_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/backends/pg-conformance.ts'], {
    cwd: ROOT,
    env: { ...process.env, VESPER_TEST_PG_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const count = (label: string) => Number(/^# (\w+)\s+(\d+)$/m.exec(output.split('\n').filter((l) => l.startsWith(`# ${label} `)).pop() ?? '')?.[2] ?? NaN);
  const failures = output.split('\n').filter((line) => line.startsWith('not ok'));
  t.deepEqual(failures, [], output.slice(-4000));
  t.is(code, 0);
  t.true(count('pass') > 4000, `passed: ${count('pass')}`);
  t.is(count('pass'), count('tests'));
});
