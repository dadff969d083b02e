// Helpers for store unit tests: a catalog over memory-level (over PostgresLevel, tables of its own,
// with VESPER_TEST_BACKEND=postgres), and raw key scans of a tenant.
import { MemoryLevel } from 'memory-level';
import { PgClient } from '../../src/store/backends/pg-client.js';
import { PgStorage } from '../../src/store/backends/pg-storage.js';
import { TEST_BACKEND, TEST_PG_URL } from '../helpers/backend.js';
import { type FactInput, MAIN_SCOPE } from '../../src/domain/fact.js';
import { layerOfFactKey } from '../../src/encoding/fact-keys.js';
import { BackgroundRunner, type TaskFailure } from '../../src/store/background.js';
import { Catalog } from '../../src/store/catalog.js';
import type { TenantHandleLimits } from '../../src/store/fact-database.js';
import type { LevelDb } from '../../src/store/level-types.js';
import type { TenantReads, TenantStore } from '../../src/store/tenant-store.js';

export const fact = (predicate: string, ...args: (string | number)[]): FactInput => ({
  predicate, args, negated: false, scope: MAIN_SCOPE, confidence: 1, ttl: null, validFrom: null, validUntil: null, metadata: null,
});

export interface MemoryStore {
  readonly catalog: Catalog;
  readonly background: BackgroundRunner;
  /** Background tasks that failed (a test asserts there are none). */
  readonly failures: TaskFailure[];
  /** Every database the catalog opened, by name (raw scans read them). */
  readonly levels: Map<string, LevelDb>;
}

let pgCatalogs = 0;

export async function memoryCatalog(options: { tenantHandles?: TenantHandleLimits } = {}): Promise<MemoryStore> {
  const levels = new Map<string, LevelDb>();
  const failures: TaskFailure[] = [];
  const background = new BackgroundRunner((failure) => failures.push(failure));
  const settings = { durability: { syncEveryWrite: false, groupCommitMs: 0 }, strictDatabases: false, background, ...options };
  if (TEST_BACKEND === 'postgres' && TEST_PG_URL !== undefined) {
    // Tables of this catalogue alone; the pool ends with it (an open pool would keep the test process alive).
    const client = new PgClient({ url: TEST_PG_URL, tablePrefix: `m${process.pid}_${pgCatalogs++}_${Date.now().toString(36).slice(-4)}_`, poolSize: 2, snapshotPoolSize: 4 });
    const storage = new PgStorage(client);
    const catalog = await Catalog.open({
      ...settings,
      storage: {
        level: (name) => {
          const level = storage.level(name);
          levels.set(name, level);
          return level;
        },
        remove: (name) => storage.remove(name),
        hasRoom: () => storage.hasRoom(),
      },
    });
    const close = catalog.close.bind(catalog);
    catalog.close = async () => {
      await close();
      await client.end();
    };
    return { catalog, background, failures, levels };
  }
  const catalog = await Catalog.open({
    dataDir: '/memory',
    ...settings,
    openLevel: (location) => {
      const level = new MemoryLevel<string, string>() as unknown as LevelDb;
      levels.set(location.split('/').pop() ?? location, level);
      return level;
    },
  });
  return { catalog, background, failures, levels };
}

/** Every raw key and value of a database, in order. */
/** A memory catalog whose tenant `t` of `default` holds `facts`, with its LevelDB and the moment they were told. */
export async function toldTenant(facts: readonly FactInput[]) {
  const store = await memoryCatalog();
  const tenant = (await store.catalog.forWrite('default')).database.tenant('t');
  const level = store.levels.get('default');
  if (!level) throw new Error('no level');
  const now = Date.now();
  await tenant.tell(facts, now);
  return { ...store, tenant, level, now };
}

export async function rawEntries(level: LevelDb): Promise<[string, string][]> {
  return level.iterator().all();
}

/** Layers whose fact keys (index or listing) are present in a tenant's raw keyspace. */
export async function layersOnDisk(level: LevelDb, tenant: string): Promise<Set<number>> {
  const prefix = `!${tenant}!`;
  const layers = new Set<number>();
  for (const [key] of await rawEntries(level)) {
    if (!key.startsWith(prefix)) continue;
    const layer = layerOfFactKey(key.slice(prefix.length));
    if (layer !== null) layers.add(layer);
  }
  return layers;
}

/** The visible p/1 facts of main, as strings. */
export async function visibleIn(reads: TenantReads, now: number): Promise<string[]> {
  const view = reads.view(MAIN_SCOPE);
  if (!view) return [];
  const out: string[] = [];
  for await (const { fact: f } of reads.match(view, { predicate: 'p', args: [undefined], negated: false }, { now })) out.push(String(f.args[0]));
  return out.sort();
}

export function visible(tenant: TenantStore, now: number): Promise<string[]> {
  return tenant.read(now, (reads) => visibleIn(reads, now));
}
