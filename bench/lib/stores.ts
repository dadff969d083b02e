/**
 * The two stores of `npm run bench`: Vesper through its real store path (Catalog → FactDatabase →
 * TenantStore, as src/server.ts opens it), and the raw classic-level hexastore of the peer bench
 * (6 keys per triple, empty values): the physical limit of a 6-index triple store on LevelDB.
 * Peer stores (quadstore, levelgraph) live in bench/peers/adapters.mjs with their own node_modules.
 */
import { ClassicLevel } from 'classic-level';
import { type FactInput, type FactPattern, MAIN_SCOPE } from '../../src/domain/fact.js';
import { Catalog } from '../../src/store/catalog.js';
import type { ScopeView } from '../../src/store/fact-reader.js';
import type { LevelDb } from '../../src/store/level-types.js';
import type { TenantReads, TenantStore } from '../../src/store/tenant-store.js';
import { type LevelStats, type Triple, type TriplePattern, objectText } from './workload.js';

export interface Adapter {
  open(dir: string): Promise<void>;
  loadBatch(ts: readonly Triple[]): Promise<void>;
  insertOne(t: Triple): Promise<void>;
  /** Runs the pattern and drains every result; returns the number of rows. */
  query(pattern: TriplePattern): Promise<number>;
  /** `?x p1 o . ?x p2 ?y`: nested loop, one inner scan at a time; returns the number of rows. */
  join(p1: string, o: Triple, p2: string): Promise<number>;
  /** A second join strategy where the store has one (see its label). */
  joinAlt?(p1: string, o: Triple, p2: string): Promise<number>;
  readonly joinLabel: string;
  readonly joinAltLabel?: string;
  /** The LevelDB instances, for the settle step. */
  levels(): LevelStats[];
  close(): Promise<void>;
}

/** Inner probes of the join in flight at once, as src/engine/stored.ts (CONCURRENCY) fetches keys. */
const ENGINE_CONCURRENCY = 16;

async function concurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<number>): Promise<number> {
  let next = 0;
  let total = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const rows = await work(items[next++] as T); // not `total += await …`: that reads total before awaiting
      total += rows;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return total;
}

// ---------------------------------------------------------------- Vesper

const PREDICATE = 'triple';
const TENANT = 'bench';
const DATABASE = 'bench';

function factOf(t: Triple): FactInput {
  return {
    predicate: PREDICATE,
    args: [t.s, t.p, objectText(t)],
    negated: false,
    scope: MAIN_SCOPE,
    confidence: 1,
    ttl: null,
    validFrom: null,
    validUntil: null,
    metadata: null,
  };
}

function patternOf(p: TriplePattern): FactPattern {
  return { predicate: PREDICATE, args: [p.s, p.p, p.o === undefined ? undefined : objectText(p)], negated: false };
}

export function vesperAdapter(): Adapter {
  let catalog: Catalog;
  let tenant: TenantStore;
  const opened: ClassicLevel<string, string>[] = [];

  /** What the server does per request: now from the clock, one reader (snapshot + scopes) for the request. */
  const reading = <T>(work: (reads: TenantReads, view: ScopeView, now: number) => Promise<T>): Promise<T> => {
    const now = Date.now();
    return tenant.read(now, (reads) => {
      const view = reads.view(MAIN_SCOPE);
      if (view === null) throw new Error('scope main is missing');
      return work(reads, view, now);
    });
  };
  const count = async (reads: TenantReads, view: ScopeView, pattern: FactPattern, now: number): Promise<number> => {
    let n = 0;
    for await (const _ of reads.match(view, pattern, { now })) n++;
    return n;
  };
  /** Outer pattern `triple(?x, p1, o)` read whole (as the engine's StoredRelation does), then the ?x values. */
  const outer = async (reads: TenantReads, view: ScopeView, p1: string, o: Triple, now: number): Promise<string[]> => {
    const xs: string[] = [];
    for await (const { fact } of reads.match(view, patternOf({ p: p1, o: o.o, lit: o.lit }), { now })) xs.push(fact.args[0] as string);
    return xs;
  };
  const inner = (reads: TenantReads, view: ScopeView, x: string, p2: string, now: number) =>
    count(reads, view, { predicate: PREDICATE, args: [x, p2, undefined], negated: false }, now);

  return {
    joinLabel: 'nested loop over TenantStore.match',
    joinAltLabel: `inner probes ${ENGINE_CONCURRENCY} at a time (engine/stored.ts fetchKeys)`,
    async open(dir) {
      catalog = await Catalog.open({
        dataDir: dir,
        durability: { syncEveryWrite: false, groupCommitMs: 100 },
        strictDatabases: false,
        openLevel: (location) => {
          const level = new ClassicLevel<string, string>(location);
          opened.push(level);
          return level as unknown as LevelDb;
        },
      });
      // Held for the whole bench: one database, never closed under the tenant.
      const { database } = await catalog.forWrite(DATABASE);
      tenant = database.tenant(TENANT);
    },
    async loadBatch(ts) {
      await tenant.tell(ts.map(factOf), Date.now());
    },
    async insertOne(t) {
      await tenant.tell([factOf(t)], Date.now());
    },
    query(pattern) {
      return reading((reads, view, now) => count(reads, view, patternOf(pattern), now));
    },
    join(p1, o, p2) {
      return reading(async (reads, view, now) => {
        let n = 0;
        for (const x of await outer(reads, view, p1, o, now)) n += await inner(reads, view, x, p2, now);
        return n;
      });
    },
    joinAlt(p1, o, p2) {
      return reading(async (reads, view, now) => {
        const xs = await outer(reads, view, p1, o, now);
        return concurrently(xs, ENGINE_CONCURRENCY, (x) => inner(reads, view, x, p2, now));
      });
    },
    levels: () => opened,
    close: () => catalog.close(),
  };
}

// ---------------------------------------------------------------- raw classic-level hexastore

const SEP = '\u0000';

function keys6(t: Triple): string[] {
  const s = t.s;
  const p = t.p;
  const o = objectText(t);
  return [
    'spo' + SEP + s + SEP + p + SEP + o,
    'sop' + SEP + s + SEP + o + SEP + p,
    'pso' + SEP + p + SEP + s + SEP + o,
    'pos' + SEP + p + SEP + o + SEP + s,
    'osp' + SEP + o + SEP + s + SEP + p,
    'ops' + SEP + o + SEP + p + SEP + s,
  ];
}

function prefixOf(t: TriplePattern): string {
  if (t.s && t.p) return 'spo' + SEP + t.s + SEP + t.p + SEP;
  if (t.p && t.o) return 'pos' + SEP + t.p + SEP + objectText(t) + SEP;
  if (t.s) return 'spo' + SEP + t.s + SEP;
  if (t.o) return 'osp' + SEP + objectText(t) + SEP;
  throw new Error('unsupported pattern');
}

const range = (prefix: string) => ({ gte: prefix, lt: prefix + '\uffff' });

export function rawAdapter(): Adapter {
  let db: ClassicLevel<string, string>;
  const inner = async (x: string, p2: string) => (await db.keys(range('spo' + SEP + x + SEP + p2 + SEP)).all()).length;
  const outer = async (p1: string, o: Triple) =>
    (await db.keys(range('pos' + SEP + p1 + SEP + objectText(o) + SEP)).all()).map((k) => k.slice(k.lastIndexOf(SEP) + 1));
  return {
    joinLabel: 'nested loop over keys().all()',
    joinAltLabel: `inner probes ${ENGINE_CONCURRENCY} at a time`,
    async open(dir) {
      db = new ClassicLevel<string, string>(dir);
      await db.open();
    },
    async loadBatch(ts) {
      const ops: { type: 'put'; key: string; value: string }[] = new Array(ts.length * 6);
      let k = 0;
      for (const t of ts) for (const key of keys6(t)) ops[k++] = { type: 'put', key, value: '' };
      await db.batch(ops);
    },
    async insertOne(t) {
      await db.batch(keys6(t).map((key) => ({ type: 'put' as const, key, value: '' })));
    },
    async query(pattern) {
      return (await db.keys(range(prefixOf(pattern))).all()).length;
    },
    async join(p1, o, p2) {
      let n = 0;
      for (const x of await outer(p1, o)) n += await inner(x, p2);
      return n;
    },
    async joinAlt(p1, o, p2) {
      return concurrently(await outer(p1, o), ENGINE_CONCURRENCY, (x) => inner(x, p2));
    },
    levels: () => [db],
    close: () => db.close(),
  };
}
