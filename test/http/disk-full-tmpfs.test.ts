// A real full disk (issue 12, found-item 8): a 14 MB tmpfs mounted in a user + mount namespace
// (`unshare -rm`, no root needed where the kernel allows it; skipped with a note where it does not).
// The driver (test/helpers/disk-full-driver.ts) runs inside the namespace and reports back.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ON_LEVELDB } from '../helpers/backend.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function namespacesAllowed(): boolean {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d"'], { timeout: 5000 });
  return probe.status === 0;
}

// LevelDB only: the disk that fills up is the data directory's (PostgreSQL's disk_full: test/backends/pg-server.test.ts).
(ON_LEVELDB ? test : test.skip)('disk full on a real tmpfs › writes 507 then resume by themselves; no acknowledged batch lost, no refused one stored; a start on the full disk says so', async (t) => {
  if (!namespacesAllowed()) {
    t.log('skipped: this machine does not allow mounting a tmpfs in a user namespace (the fault-injection tests in storage-full.test.ts still run)');
    t.pass();
    return;
  }
  t.timeout(120_000);
  const mount = await mkdtemp(join(tmpdir(), 'vesper-tmpfs-'));
  t.teardown(() => rm(mount, { recursive: true, force: true }));
  const script = `mount -t tmpfs -o size=14m tmpfs "$1" && exec "$0" --import tsx test/helpers/disk-full-driver.ts "$1"`;
  const child = spawn('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, process.execPath, mount], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 0, err.slice(-2000));
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
  t.log(JSON.stringify(result));
  const statuses = Object.keys(result.statuses ?? {});
  t.false(statuses.some((s) => / 5\d\d/.test(s) && !s.endsWith(' 507 STORAGE_FULL')), `no 5xx but 507: ${statuses.join(', ')}`);
  t.true(statuses.includes('fill 507 STORAGE_FULL'), 'the disk filled up and writes were refused with 507');
  t.is(result.readWhileFull, 200, 'reads work while the disk is full');
  t.like(result.readyWhileFull, { ready: true, storage: 'full' });
  t.is(result.metricWhileFull, '1');
  t.not(result.resumedInPlaceAfterMs, null, 'writes resumed by themselves once space was freed, without a restart');
  t.not(result.resumedAfterRestartMs, null, 'and after a restart on the freed disk');
  if (result.startOnFullDisk === 'exited') {
    t.is(result.startOutput.length, 1, 'one log line says the disk is full');
    t.false(result.startStackTrace, 'no stack trace');
  }
  t.deepEqual(result.missingAcknowledged, [], 'every acknowledged batch is there');
  t.deepEqual(result.presentRefused, [], 'no refused batch is (partly) there');
  t.like(result.readyAfter, { ready: true, storage: 'ok' });
  if (result.startOnFullDisk === 'started') {
    t.is(result.startLogLines, 1, 'one log line says the disk is full');
    // A database whose write-ahead log LevelDB must replay cannot open without space: a true 507, never a 500.
    t.true([200, 507].includes(result.readAfterFullStart), String(result.readAfterFullStart));
  }
});
