import { execFile } from 'node:child_process';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/**
 * Compile the CLI as `npm run build` does (same compiler options, src/ → dist/), but only the
 * CLI's own files and into a temporary directory: seconds instead of the whole project, and
 * independent of work in progress elsewhere. Returns the path of the built `cli/vesper.js`.
 */
export async function buildCli(): Promise<{ entry: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-cli-'));
  const config = {
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: { rootDir: join(ROOT, 'src'), outDir: join(dir, 'dist'), noEmit: false, sourceMap: false, typeRoots: [join(ROOT, 'node_modules/@types')] },
    include: [],
    files: [join(ROOT, 'src/cli/vesper.ts')],
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(config));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir'); // the built CLI resolves eventsource-parser
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: ROOT });
  return { entry: join(dir, 'dist/cli/vesper.js'), dir };
}
