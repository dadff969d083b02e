// Scratch: single-tell rate vs group-commit interval (not committed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { objectText, triple } from '../lib/workload.js';

const factOf = (i: number) => { const t = triple(i); return { predicate: 'triple', args: [t.s, t.p, objectText(t)], negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null }; };
const mode = process.argv[2] ?? 'vesper';
const gc = Number(process.argv[3] ?? 100);
const N = Number(process.env.N ?? 50000), S = Number(process.env.S ?? 5000);
let cpuBulk = 0, cpuSingle = 0;
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const dir = mkdtempSync(path.join(tmpdir(), 'vs-'));
let single = 0, bulk = 0;
if (mode === 'raw') {
  const db = new ClassicLevel<string, string>(dir); await db.open();
  const k6 = (i: number) => { const t = triple(i); const o = objectText(t); return [`spo\0${t.s}\0${t.p}\0${o}`, `sop\0${t.s}\0${o}\0${t.p}`, `pso\0${t.p}\0${t.s}\0${o}`, `pos\0${t.p}\0${o}\0${t.s}`, `osp\0${o}\0${t.s}\0${t.p}`, `ops\0${o}\0${t.p}\0${t.s}`]; };
  let t0 = performance.now(); let c0 = cpu();
  for (let i = 0; i < N; i += 1000) { const ops = []; for (let j = i; j < i + 1000; j++) for (const key of k6(j)) ops.push({ type: 'put' as const, key, value: '' }); await db.batch(ops); }
  bulk = N / ((performance.now() - t0) / 1000); cpuBulk = (cpu() - c0) / N;
  t0 = performance.now(); c0 = cpu();
  for (let j = 0; j < S; j++) await db.batch(k6(N + j).map((key) => ({ type: 'put' as const, key, value: '' })));
  single = S / ((performance.now() - t0) / 1000); cpuSingle = (cpu() - c0) / S;
  await db.close();
} else {
  const catalog = await Catalog.open({ dataDir: dir, durability: { syncEveryWrite: false, groupCommitMs: gc }, strictDatabases: false, openLevel: (l) => new ClassicLevel<string, string>(l) as unknown as LevelDb });
  const { database } = await catalog.forWrite('bench');
  const tenant = database.tenant('bench');
  let t0 = performance.now(); let c0 = cpu();
  for (let i = 0; i < N; i += 1000) await tenant.tell(Array.from({ length: 1000 }, (_, k) => factOf(i + k)), Date.now());
  bulk = N / ((performance.now() - t0) / 1000); cpuBulk = (cpu() - c0) / N;
  t0 = performance.now(); c0 = cpu();
  for (let j = 0; j < S; j++) await tenant.tell([factOf(N + j)], Date.now());
  single = S / ((performance.now() - t0) / 1000); cpuSingle = (cpu() - c0) / S;
  await catalog.close();
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ mode, gc, bulk: Math.round(bulk), single: Math.round(single), cpuBulkUs: +cpuBulk.toFixed(1), cpuSingleUs: +cpuSingle.toFixed(1) }));
