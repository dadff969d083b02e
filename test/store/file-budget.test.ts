// Reading RLIMIT_NOFILE without a native addon, and splitting it between open databases.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { FALLBACK_FILE_LIMIT, FDS_PER_DATABASE, LEVELDB_MIN_OPEN_FILES, fileBudget, readOpenFileLimit } from '../../src/store/file-budget.js';
import { makeDataDir } from '../helpers/server.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('file limit › read from /proc/self/limits › the soft limit', async (t) => {
  const path = join(await makeDataDir(), 'limits');
  await writeFile(path, LIMITS);
  t.deepEqual(readOpenFileLimit(path), { limit: 1024, source: 'proc' });
  t.is(readOpenFileLimit('/proc/self/limits').source, 'proc', 'this machine has /proc');
});

test('file limit › unreadable › the fallback', (t) => {
  t.deepEqual(readOpenFileLimit('/nonexistent/limits'), { limit: FALLBACK_FILE_LIMIT, source: 'fallback' });
});

test('file budget › derived bound › open databases times their descriptors fit in the limit with room to spare', (t) => {
  for (const limit of [256, 1024, 4096, 65536, 1_048_576]) {
    const budget = fileBudget(limit, 0);
    t.true(budget.maxOpenDatabases >= 1);
    t.true(budget.maxOpenDatabases * FDS_PER_DATABASE + 128 + limit * 0.2 <= limit || budget.maxOpenDatabases === 1, `limit ${limit}`);
    t.true(budget.maxOpenFiles >= LEVELDB_MIN_OPEN_FILES && budget.maxOpenFiles <= 1000);
  }
  t.is(fileBudget(1024, 0).maxOpenDatabases, 138);
});

test('file budget › a setting above what the limit carries › is capped', (t) => {
  t.is(fileBudget(256, 10_000).maxOpenDatabases, fileBudget(256, 0).maxOpenDatabases);
  t.is(fileBudget(1_048_576, 10).maxOpenDatabases, 10);
});
