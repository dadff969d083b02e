// `npm run check -- DATA_DIR` end to end: a data directory written by the store, checked by the CLI process.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { indexKeysOf } from '../../src/encoding/fact-keys.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { fact } from '../store/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const check = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/check.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

test('npm run check › exit 0 on a clean data directory, 1 naming the fact when an index entry is gone, 2 without a directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-check-'));
  try {
    const catalog = await Catalog.open({
      dataDir: dir,
      durability: { syncEveryWrite: true, groupCommitMs: 0 },
      strictDatabases: false,
      openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
    });
    const lease = await catalog.forWrite('other');
    await lease.database.tenant('acme').tell([fact('seats', 'acme', 120), fact('plan', 'acme', 'pro'), fact('p', 'x')], Date.now());
    lease.release();
    await catalog.close();

    const clean = check(dir);
    t.is(clean.status, 0, clean.stdout + clean.stderr);
    t.regex(clean.stdout, /^clean: 2 databases, 1 tenants, 3 fact versions/);

    const level = new ClassicLevel<string, string>(join(dir, 'other'));
    const [, second] = indexKeysOf({ predicate: 'seats', args: ['acme', 120], negated: false }, 0);
    await level.del('!acme!' + second);
    await level.close();
    const broken = check(dir);
    t.is(broken.status, 1, broken.stdout + broken.stderr);
    t.regex(broken.stdout, /other\/acme: index entry missing: seats\("acme", 120\) in layer 0: 1 of 2 entries missing/);

    t.is(check().status, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
