import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { backendEnv } from './backend.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The real server as a separate process (`node --import tsx src/main.ts`), so it can be killed for real. */
export interface ChildServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): void;
  /** What the process wrote to stderr (and stdout), for failure messages. */
  output(): string;
}

/** A port that was free a moment ago: listen on 0, read it, close. main.ts must be told its port up front. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** `fileLimit`: run under `ulimit -n` (a child shell lowers it, then execs node). */
export async function spawnServer(dataDir: string, env: Partial<Record<string, string>> = {}, timeoutMs = 20_000, options: { fileLimit?: number } = {}): Promise<ChildServer> {
  const port = await freePort();
  const [command, args] =
    options.fileLimit === undefined
      ? [process.execPath, ['--import', 'tsx', 'src/main.ts']]
      : ['/bin/sh', ['-c', `ulimit -n ${options.fileLimit} && exec "$0" --import tsx src/main.ts`, process.execPath]];
  const child = spawn(command, args, {
    cwd: ROOT,
    // On PostgreSQL (helpers/backend.ts) the tables are named after the data directory, so a restart over it finds them.
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'warn', VESPER_ADMIN_KEY: '', ...backendEnv(dataDir), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, exited, timeoutMs, () => output);
  return { url, port, process: child, exited, kill: (signal) => void child.kill(signal), output: () => output };
}

async function waitForHealth(url: string, exited: Promise<unknown>, timeoutMs: number, output: () => string): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`server exited before answering /health:\n${output()}`);
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not answer /health within ${timeoutMs} ms:\n${output()}`);
}
