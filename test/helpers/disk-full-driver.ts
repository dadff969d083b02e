// Run inside a user + mount namespace with a small tmpfs at argv[2] (see test/http/disk-full-tmpfs.test.ts):
// fill the disk through a real server until writes are refused, restart it while the disk is full,
// free space, and print what happened as one JSON line on stdout.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer } from './child.js';
import { api, tenantApi } from './server.js';

const mount = process.argv[2] ?? '';
const dataDir = join(mount, 'data');
const ballasts = [join(mount, 'ballast-1'), join(mount, 'ballast-2')];
/**
 * Freed to let writes resume; each must leave well over the server's 4 MB "room again" threshold
 * (server.ts MIN_FREE_BYTES) once freed. The second is larger: the restart on the full disk replays
 * the write-ahead log into a table first, which takes part of what its removal frees (with writes
 * packed a little tighter, 4.5 MB left the disk just under the threshold and writes never resumed).
 */
const BALLAST_BYTES = [4.5 * 1024 * 1024, 6 * 1024 * 1024];

const result: Record<string, unknown> = {};
const statuses: Record<string, number> = {};
const count = (key: string) => (statuses[key] = (statuses[key] ?? 0) + 1);

await mkdir(dataDir, { recursive: true });
for (const [i, file] of ballasts.entries()) await writeFile(file, randomBytes(BALLAST_BYTES[i] ?? 0));
let server = await spawnServer(dataDir, { VESPER_GROUP_COMMIT_MS: '50' });
const client = () => tenantApi(server.url, 'acme', 'filled');
const acknowledged: number[] = [];
const refused: number[] = [];

const batch = (id: number) => ({
  facts: [{ predicate: 'marker', args: [id] }, ...Array.from({ length: 200 }, (_, i) => ({ predicate: 'r', args: [id, i, randomBytes(48).toString('base64')] }))],
});

let id = 0;
async function fill(phase: string): Promise<void> {
  let refusedHere = 0;
  for (let n = 0; n < 2000 && refusedHere < 3; n++, id++) {
    const reply = await client().post('/tell', batch(id));
    count(`${phase} ${reply.status} ${reply.json?.code ?? ''}`.trim());
    if (reply.status === 200) acknowledged.push(id);
    else {
      refused.push(id);
      refusedHere++;
    }
  }
}

/** Free space, then write until a write succeeds (8 s at most): the server must recover by itself. */
async function resume(phase: string): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < 8000) {
    const reply = await client().post('/tell', batch(id));
    count(`${phase} ${reply.status} ${reply.json?.code ?? ''}`.trim());
    if (reply.status === 200) {
      acknowledged.push(id++);
      return Date.now() - started;
    }
    refused.push(id++);
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

await fill('fill');
result.filled = { acknowledged: acknowledged.length, refused: refused.length };
result.readWhileFull = (await client().post('/ask', { predicate: 'marker', args: ['?b'], limit: 10_000 })).status;
result.readyWhileFull = (await api(server.url).get('/ready')).json;
result.metricWhileFull = /^vesper_storage_full (\d)$/m.exec((await api(server.url).get('/metrics')).text)?.[1] ?? null;
await rm(ballasts[0] ?? '');
result.resumedInPlaceAfterMs = await resume('resume');
await fill('refill');

// A crash while the disk is full, then a start on the full disk.
server.kill('SIGKILL');
await server.exited;
try {
  server = await spawnServer(dataDir, { VESPER_GROUP_COMMIT_MS: '50', LOG_LEVEL: 'info' });
  result.startOnFullDisk = 'started';
  result.readAfterFullStart = (await client().post('/ask', { predicate: 'marker', args: ['?b'], limit: 10_000 })).status;
} catch (error) {
  result.startOnFullDisk = 'exited';
  server = null as unknown as typeof server;
  const output = String(error);
  result.startOutput = output.split('\n').filter((l) => l.includes('disk of the data directory is full')).slice(0, 3);
  result.startStackTrace = /\n\s+at /.test(output);
}
if (server) {
  const lines = server.output().split('\n').filter((l) => /full/.test(l));
  result.startLogLines = lines.length;
}

// Free space: writes resume by themselves.
await rm(ballasts[1] ?? '');
if (!server) server = await spawnServer(dataDir, { VESPER_GROUP_COMMIT_MS: '50' });
result.resumedAfterRestartMs = await resume('after restart');
const markers = new Set<number>(((await client().post('/ask', { predicate: 'marker', args: ['?b'], limit: 10_000 })).json?.results ?? []).map((r: { args: number[] }) => r.args[0]));
result.missingAcknowledged = acknowledged.filter((b) => !markers.has(b));
result.presentRefused = refused.filter((b) => markers.has(b));
result.readyAfter = (await api(server.url).get('/ready')).json;
result.statuses = statuses;
server.kill('SIGTERM');
result.exit = await server.exited;
process.stdout.write(`${JSON.stringify(result)}\n`);
