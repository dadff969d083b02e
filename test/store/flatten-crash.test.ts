// kill -9 between a flatten's swap and the collection of the layers it retired: the next open collects them.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ClassicLevel } from 'classic-level';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { layerOfFactKey } from '../../src/encoding/fact-keys.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { visible } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Raw scan of the tenant's keys: the layers its fact keys belong to, and the journal entries of META. */
async function rawLayers(dir: string): Promise<{ layers: Set<number>; journal: number }> {
  const level = new ClassicLevel<string, string>(join(dir, 'default'));
  const layers = new Set<number>();
  let journal = 0;
  for await (const key of level.keys()) {
    if (key.startsWith('!t!')) {
      const layer = layerOfFactKey(key.slice(3));
      if (layer !== null) layers.add(layer);
    }
    if (key.startsWith('!~meta!G')) journal++;
  }
  await level.close();
  return { layers, journal };
}

async function runUntilSwapped(dir: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/flatten-child.ts', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('swapped 1')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`child exited before the swap:\n${output}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

test('flatten › kill -9 between the swap and the collection › the next open leaves no keys of unreferenced layers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-flatten-crash-'));
  try {
    await runUntilSwapped(dir);
    const open = () =>
      Catalog.open({
        dataDir: dir,
        durability: { syncEveryWrite: true, groupCommitMs: 0 },
        strictDatabases: false,
        openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
      });
    const crashed = await rawLayers(dir);
    t.true(crashed.journal > 0, 'the crash left retired layers in the journal');
    const catalog = await open();
    const tenant = (await catalog.forRead('default')).database.tenant('t');
    const now = Date.now();
    const live = new Set((await tenant.scopes(now)).layerUse().keys());
    t.true([...crashed.layers].some((layer) => !live.has(layer)), 'before the restart, keys of unreferenced layers were on disk');
    const facts = await visible(tenant, now);
    t.is(facts.length, 50 - 12 + 12);
    t.true((await tenant.scopes(now)).get(MAIN_SCOPE)!.chain.length <= 2);
    await catalog.close();
    const after = await rawLayers(dir);
    t.deepEqual([...after.layers].filter((layer) => !live.has(layer)), []);
    t.is(after.journal, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
