/**
 * `npm run bench:export`: export and import rate of one tenant over real HTTP, with the server's
 * peak RSS (VmHWM, its own process) after seeding, after the export and after the import: constant
 * memory shows as peaks that do not grow with the phase that streams every fact.
 *
 * Env: BENCH_EXPORT_FACTS (1000000), BENCH_EXPORT_SCOPE_EVERY (10: after main is seeded, a fork
 * `alt` of it upserts every 10th fact, so the export carries a layout: main's frozen root layer
 * shared by both scopes, each scope's own layer, and every version logged).
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startSourceServer } from './lib/child-server.js';


const facts = Number(process.env.BENCH_EXPORT_FACTS || 1_000_000);
const scopeEvery = Number(process.env.BENCH_EXPORT_SCOPE_EVERY || 10);
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
    const post = async (route: string, body: unknown) => {
      const reply = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'source' }, body: JSON.stringify(body) });
      if (!reply.ok) throw new Error(`${route}: ${reply.status} ${await reply.text()}`);
      return reply.json() as Promise<any>;
    };
    await post('/scope/fork', { source: 'main', target: 'alt' });
    const forked = Array.from({ length: Math.ceil(facts / scopeEvery) }, (_, i) => i * scopeEvery);
    for (let from = 0; from < forked.length; from += BATCH) {
      await post('/tell', { facts: forked.slice(from, from + BATCH).map((n) => ({ predicate: 'item', args: [n, `g${n % 97}`], metadata: { n, alt: true }, scope: 'alt' })) });
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
    // Not timed: the copy holds the same layout (the same scope counts, the same first diff page).
    const { imported: counts } = JSON.parse(reply) as { imported: { layers: number; facts: number; versions: number } };
    const get = (tenant: string) => fetch(`${base}/scopes`, { headers: { 'x-tenant-id': tenant } }).then((r) => r.json()) as Promise<{ details: { name: string; facts: number }[] }>;
    const diff = (tenant: string) =>
      fetch(`${base}/scope/diff`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': tenant }, body: JSON.stringify({ source: 'alt', target: 'main', limit: 100 }) }).then((r) => r.text());
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same((await get('copy')).details.map((d) => [d.name, d.facts]), (await get('source')).details.map((d) => [d.name, d.facts]))) throw new Error('the copy lists other scopes');
    if ((await diff('copy')).replaceAll('~copy', '~source') !== (await diff('source'))) throw new Error('the copy diffs otherwise');
    const entries = counts.facts;
    const mib = statSync(file).size / 1024 ** 2;
    process.stdout.write(
      [
        `${facts} facts in main, ${forked.length} upserted in its fork alt: ${entries} entries in ${counts.layers} layers, ${counts.versions} logged versions; ${cpus().length} cores, 1-min load ${loadavg()[0]?.toFixed(1)}, node ${process.version}; export file ${mib.toFixed(0)} MiB`,
        '',
        '| phase | seconds | entries/s | server peak RSS MiB after it |',
        '|---|---|---|---|',
        `| seed (tell, batches of ${BATCH}; fork; tells into alt) | ${seedS.toFixed(1)} | ${(entries / seedS).toFixed(0)} | ${afterSeed.toFixed(0)} |`,
        `| export (streamed to a file) | ${exportS.toFixed(1)} | ${(entries / exportS).toFixed(0)} | ${afterExport.toFixed(0)} |`,
        `| import (streamed from the file) | ${importS.toFixed(1)} | ${(entries / importS).toFixed(0)} | ${afterImport.toFixed(0)} |`,
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
