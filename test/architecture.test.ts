// The layers of DESIGN.md, enforced: each folder of src/ may import only the folders listed here.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import test from 'ava';

const SRC = join(import.meta.dirname, '..', 'src');

const ALLOWED: Record<string, readonly string[]> = {
  domain: ['domain'],
  encoding: ['encoding', 'domain'],
  store: ['store', 'encoding', 'domain'],
  engine: ['engine', 'domain'],
  scopes: ['scopes', 'store', 'encoding', 'domain'],
  service: ['service', 'scopes', 'store', 'engine', 'contract', 'encoding', 'domain'],
  contract: ['contract', 'engine', 'domain'],
  operations: ['operations', 'service', 'contract', 'domain', 'engine'],
  http: ['http', 'operations', 'service', 'contract', 'domain', 'engine', 'scopes', 'store', 'mcp'],
  mcp: ['mcp', 'operations', 'service', 'contract', 'domain', 'engine', 'scopes', 'store'],
  cli: ['cli', 'operations', 'contract', 'domain'],
};

async function* sources(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

test('src layers › each module imports only the layers below it', async (t) => {
  const violations: string[] = [];
  for await (const file of sources(SRC)) {
    const layer = relative(SRC, file).split('/')[0] ?? '';
    const allowed = ALLOWED[layer];
    if (!allowed) continue; // main.ts, server.ts, config.ts, version.ts: the composition root
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(SRC, join(file, '..', match[1] ?? '')).split('/')[0] ?? '';
      const isRootFile = target.endsWith('.js');
      const rootFilesAllowed = layer === 'cli' ? ['version.js', 'config.js'] : ['version.js'];
      // The offline check (`npm run check`) reads a data directory itself: its CLI may use that one store module.
      const offlineCheck = relative(SRC, file) === 'cli/check.ts' && match[1] === '../store/check.js';
      if (!offlineCheck && (isRootFile ? !rootFilesAllowed.includes(target) : !allowed.includes(target))) {
        violations.push(`${relative(SRC, file)} imports ${match[1]}`);
      }
    }
  }
  t.deepEqual(violations, []);
});

test('src › only config.ts reads process.env', async (t) => {
  const readers: string[] = [];
  for await (const file of sources(SRC)) {
    const name = relative(SRC, file);
    if ((await readFile(file, 'utf8')).includes('process.env') && name !== 'config.ts') readers.push(name);
  }
  t.deepEqual(readers, []);
});

test('src › nothing outside store/ reaches the store sublevels, raw batches or write lock', async (t) => {
  const leaks: string[] = [];
  const forbiddenImports = /from '[^']*store\/(write-lock|level-types)\.js'/;
  const forbiddenNames = /\b(LevelSublevel|KeyspaceReader|BatchOp|WriteLock)\b|\.sub\b|\.lock\.run\b/;
  for await (const file of sources(SRC)) {
    const name = relative(SRC, file);
    const layer = name.split('/')[0] ?? '';
    if (layer === 'store' || !ALLOWED[layer]) continue; // the store itself, and the composition root (which opens the databases)
    const text = await readFile(file, 'utf8');
    if (forbiddenImports.test(text)) leaks.push(`${name} imports a store internal`);
    if (forbiddenNames.test(text)) leaks.push(`${name} names a store internal: ${text.match(forbiddenNames)?.[0]}`);
  }
  t.deepEqual(leaks, []);
});

test('src › only store/vector-index.ts loads the native vector index library', async (t) => {
  // One module owns usearch (a native addon): the rest of the store sees candidates, never the graph,
  // and the CLI and config never load it.
  const importers: string[] = [];
  for await (const file of sources(SRC)) {
    if (/from 'usearch'/.test(await readFile(file, 'utf8'))) importers.push(relative(SRC, file));
  }
  t.deepEqual(importers, ['store/vector-index.ts']);
});
