/**
 * `npm run bench:export`: export and import rate of one tenant over real HTTP, with the server's
 * peak RSS (VmHWM, its own process) after seeding, after the export and after the import: constant
 * memory shows as peaks that do not grow with the phase that streams every fact.
 *
 * Env: BENCH_EXPORT_FACTS (1000000), BENCH_EXPORT_SCOPE_EVERY (10: every 10th fact also goes to a second scope).
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startSourceServer } from './lib/child-server.js';


const facts = Number(process.env.BENCH_EXPORT_FACTS || 1_000_000);
const BATCH = 10_000;

const startServer = startSourceServer;

/** Peak resident set of a process so far, MiB (Linux). */
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vesper-bench-export-'));
  const server = await startServer({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: path.join(dir, 'data'), LOG_LEVEL: 'info', VESPER_RATE_LIMIT: '0' });
  server.child.stdout?.resume();
  const pid = server.child.pid as number;
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const seedStart = performance.now();
    for (let from = 0; from < facts; from += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, facts - from) }, (_, i) => ({ predicate: 'item', args: [from + i, `g${(from + i) % 97}`], metadata: { n: from + i } }));
      const reply = await fetch(`${base}/tell`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'source' }, body: JSON.stringify({ facts: batch }) });
      if (!reply.ok) throw new Error(`tell: ${reply.status} ${await reply.text()}`);
      await reply.arrayBuffer();
    }
    const seedS = (performance.now() - seedStart) / 1000;
    const afterSeed = peakRss(pid);

    const file = path.join(dir, 'source.jsonl');
    const exportStart = performance.now();
    const exported = await fetch(`${base}/admin/databases/default/tenants/source/export`);
    if (!exported.ok || !exported.body) throw new Error(`export: ${exported.status}`);
    await pipeline(Readable.fromWeb(exported.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(file));
    const exportS = (performance.now() - exportStart) / 1000;
    const afterExport = peakRss(pid);

    const importStart = performance.now();
    const imported = await fetch(`${base}/admin/databases/default/tenants/copy/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(createReadStream(file)) as unknown as RequestInit['body'],
      duplex: 'half',
    } as RequestInit);
    const reply = await imported.text();
    if (imported.status !== 201) throw new Error(`import: ${imported.status} ${reply}`);
    const importS = (performance.now() - importStart) / 1000;
    const afterImport = peakRss(pid);
    const mib = statSync(file).size / 1024 ** 2;
    process.stdout.write(
      [
        `${facts} facts; ${cpus().length} cores, 1-min load ${loadavg()[0]?.toFixed(1)}, node ${process.version}; export file ${mib.toFixed(0)} MiB`,
        '',
        '| phase | seconds | facts/s | server peak RSS MiB after it |',
        '|---|---|---|---|',
        `| seed (tell, batches of ${BATCH}) | ${seedS.toFixed(1)} | ${(facts / seedS).toFixed(0)} | ${afterSeed.toFixed(0)} |`,
        `| export (streamed to a file) | ${exportS.toFixed(1)} | ${(facts / exportS).toFixed(0)} | ${afterExport.toFixed(0)} |`,
        `| import (streamed from the file) | ${importS.toFixed(1)} | ${(facts / importS).toFixed(0)} | ${afterImport.toFixed(0)} |`,
        '',
      ].join('\n'),
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
