/**
 * One side of `npm run bench:history` (bench/history.ts): the same workload over the store and
 * query service of the source tree given as argv[2] (this branch's src, or the base commit's src
 * extracted beside it: history off), printing one JSON line of figures.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';

const src = path.resolve(process.argv[2] ?? '');
const facts = Number(process.env.BENCH_HISTORY_FACTS ?? 200_000);
const singles = Number(process.env.BENCH_HISTORY_SINGLES ?? 2000);
const asks = Number(process.env.BENCH_HISTORY_ASKS ?? 2000);
const withAsOf = process.argv[3] === 'asof';

const { Catalog } = await import(path.join(src, 'store/catalog.ts'));
const { QueryService } = await import(path.join(src, 'service/query.ts'));
const { RuleService } = await import(path.join(src, 'service/rules.ts'));

const HOUR = 3_600_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const item = (i: number, value: number, confidence = 1) => ({
  predicate: 'item', args: [`i${i}`, value], negated: false, scope: 'main', confidence, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

/** Bytes of the data directory once LevelDB compacted everything (what stays on disk, not the logs). */
async function du(dir: string): Promise<number> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const level = new ClassicLevel<string, string>(path.join(dir, entry.name));
    await level.open();
    await level.compactRange('\u0000', '\uffff');
    await level.close();
  }
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const dir = await mkdtemp(path.join(process.env.BENCH_TMP ?? tmpdir(), 'vesper-history-bench-'));
const open = () =>
  Catalog.open({
    dataDir: dir,
    durability: { syncEveryWrite: false, groupCommitMs: 100 },
    strictDatabases: false,
    openLevel: (location: string) => new ClassicLevel<string, string>(location),
  });
let catalog = await open();
try {
  const tenant = () => catalog.forWrite('bench').then((lease: { database: { tenant(name: string): any } }) => lease.database.tenant('t'));
  const start = Date.now();
  // Bulk: batches of 1000 new facts, told two hours ago (the store takes the transaction's time).
  let store = await tenant();
  const bulkStarted = performance.now();
  for (let i = 0; i < facts; i += 1000) await store.tell(Array.from({ length: Math.min(1000, facts - i) }, (_, k) => item(i + k, (i + k) % 997)), start - 2 * HOUR);
  const bulkFactsPerS = facts / ((performance.now() - bulkStarted) / 1000);
  // Single: one new fact per tell.
  const single: number[] = [];
  for (let i = 0; i < singles; i++) {
    const t0 = performance.now();
    await store.tell([item(facts + i, 1)], start - 2 * HOUR);
    single.push(performance.now() - t0);
  }
  // 10% updated half an hour ago (upserts: same fact, another confidence), disk measured around them.
  await catalog.close();
  const before = await du(dir);
  catalog = await open();
  store = await tenant();
  const updates = Math.floor(facts / 10);
  for (let i = 0; i < updates; i += 1000) {
    await store.tell(Array.from({ length: Math.min(1000, updates - i) }, (_, k) => item((i + k) * 10, ((i + k) * 10) % 997, 0.5)), start - HOUR / 2);
  }
  await catalog.close();
  const after = await du(dir);
  catalog = await open();
  // Point asks: now, and (this branch only) as of an hour back, when the updated facts held their first version.
  const query = new QueryService(catalog, () => Date.now(), new RuleService(catalog, () => Date.now()));
  const address = { database: 'bench', tenant: 't' };
  const pointAsk = async (asOf?: number) => {
    const times: number[] = [];
    for (let i = 0; i < asks; i++) {
      const key = `i${(i * 7919) % facts}`;
      const t0 = performance.now();
      const reply = await query.ask(address, { predicate: 'item', args: [key, '?v'], negated: false, limit: 100, infer: true, withProof: false, distinct: false, ...(asOf === undefined ? {} : { asOf }) });
      times.push(performance.now() - t0);
      if (reply.results.length !== 1) throw new Error(`${key}: ${reply.results.length} results`);
    }
    return median(times.slice(Math.floor(asks / 10)));
  };
  const askNowMs = await pointAsk();
  const askAsOfMs = withAsOf ? await pointAsk(Date.now() - HOUR) : null;
  const askNowAgainMs = await pointAsk();
  console.log(JSON.stringify({ facts, bulkFactsPerS, singleTellMs: median(single), upserts: updates, bytesPerUpsert: (after - before) / updates, askNowMs: Math.min(askNowMs, askNowAgainMs), askAsOfMs }));
} finally {
  await catalog.close();
  await rm(dir, { recursive: true, force: true });
}
