import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Start a child that prints a JSON log line with `"port"` once it listens; resolves to its port. */
export async function startChild(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening`)));
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: unknown };
        if (typeof parsed.port === 'number') resolve(parsed.port);
      } catch {
        // not a JSON log line: ignore
      }
    });
  });
  return { child, port };
}

/** This checkout's root (bench/lib/../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The Vesper server of this checkout, from source (tsx), in its own process. */
export function startSourceServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> {
  return startChild(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/main.ts')], env, REPO_ROOT);
}

/** Resident set size of a process in MB (Linux /proc), NaN where unreadable. */
export function rssMb(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}
