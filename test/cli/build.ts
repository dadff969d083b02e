import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

/** The relative modules a compiled file loads at run time (type-only imports are gone from the JS). */
function runtimeImports(js: string): string[] {
  return [...js.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1] ?? '');
}

/**
 * Compile the CLI as `npm run build` does (the project's compiler options, src/ → dist/), but only
 * the modules it loads at run time, each on its own, into a temporary directory: seconds instead of
 * the whole project (the types are checked by `npm run typecheck`). Returns the path of the built
 * `cli/vesper.js` and the source files it loads, relative to src/.
 */
export async function buildCli(): Promise<{ entry: string; dir: string; modules: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-cli-'));
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const pending = [join(SRC, 'cli/vesper.ts')];
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    // ESNext modules: what NodeNext emits for this "type": "module" package (transpileModule alone cannot tell).
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: { ...options, module: ts.ModuleKind.ESNext, sourceMap: false }, fileName: file });
    const out = join(dir, 'dist', relative(SRC, file).replace(/\.ts$/, '.js'));
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, outputText);
    for (const specifier of runtimeImports(outputText)) pending.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
  }
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir'); // the built CLI resolves zod, eventsource-parser
  return { entry: join(dir, 'dist/cli/vesper.js'), dir, modules: [...done].map((f) => relative(SRC, f)).sort() };
}
