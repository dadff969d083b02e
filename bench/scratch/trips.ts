import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
const counts: Record<string, number> = {};
const dir = mkdtempSync(path.join(tmpdir(), 'vt-'));
const catalog = await Catalog.open({ dataDir: dir, durability: { syncEveryWrite: false, groupCommitMs: 100 }, strictDatabases: false, openLevel: (l) => {
  const x = new ClassicLevel<string, string>(l) as any;
  if (l.endsWith('bench')) for (const m of ['_batch', '_get', '_getMany', '_put', '_iterator', '_keys', '_values', '_del', '_clear']) { const o = x[m].bind(x); x[m] = (...a: unknown[]) => { counts[m] = (counts[m] ?? 0) + 1; return o(...a); }; }
  return x as LevelDb; } });
const { database } = await catalog.forWrite('bench');
const tenant = database.tenant('bench');
const f = (i: number) => ({ predicate: 'triple', args: [`s${i}`, 'p3', `e${i}`], negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null });
await tenant.tell(Array.from({ length: 1000 }, (_, i) => f(i)), Date.now());
await new Promise((r) => setTimeout(r, 200));
for (const k of Object.keys(counts)) delete counts[k];
const t0 = performance.now();
for (let i = 0; i < 2000; i++) await tenant.tell([f(10000 + i)], Date.now());
console.log((performance.now() - t0) / 2000, 'ms/tell', counts);
await catalog.close();
