import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FactKey } from '../domain/fact.js';
import {
  META_SUBLEVEL,
  databaseRegistryRange,
  eventRange,
  eventSeqKey,
  decodeRetiredLayerKey,
  pendingImportKey,
  retiredLayerRange,
  seqOfEventKey,
  tenantFromRegistryKey,
  tenantRegistryRange,
} from '../encoding/control-keys.js';
import {
  type LayerId,
  allIndexRange,
  allListingRange,
  decodeIndexKey,
  decodeListingKey,
  groupOfIndexKey,
  indexKeysOf,
  primaryKeyOf,
} from '../encoding/fact-keys.js';
import { decodeEntryValue, decodeJson } from '../encoding/records.js';
import { allHistoryRange, decodeHistoryKey, decodeHistoryValue } from '../encoding/history-keys.js';
import { KeyspaceReader, type LevelDb, type LevelSublevel, scanRange } from './level-types.js';
import { databaseShape } from './record-shapes.js';
import { decodeEvent } from './event-log.js';
import { type IndexedVersion, checkRetrieval } from './check-retrieval.js';
import { ScopeRegistry } from './scope-registry.js';

/**
 * The offline consistency check of a data directory (`npm run check -- DATA`): everything the
 * writers promise to keep in one atomic batch is read back through the store's own decoders and
 * compared. It reads only; it must run while no server holds the directory (LevelDB's lock).
 */
export interface CheckProblem {
  readonly database: string;
  readonly tenant: string | null;
  readonly kind: string;
  readonly detail: string;
}

export interface CheckReport {
  readonly databases: number;
  readonly tenants: number;
  /** Fact versions (one per fact and layer) checked. */
  readonly entries: number;
  readonly problems: CheckProblem[];
}

/** Problems listed per kind at most; the count says how many more there were. */
const MAX_PER_KIND = 20;

class Problems {
  readonly list: CheckProblem[] = [];
  private readonly perKind = new Map<string, number>();

  constructor(private readonly database: string) {}

  add(tenant: string | null, kind: string, detail: string): void {
    const seen = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, seen);
    if (seen <= MAX_PER_KIND) this.list.push({ database: this.database, tenant, kind, detail });
    else if (seen === MAX_PER_KIND + 1) this.list.push({ database: this.database, tenant, kind, detail: 'more of this kind not listed' });
  }
}

/** One fact in one layer: the index keys found for it, with their values. */
interface Version {
  readonly fact: FactKey;
  readonly layer: LayerId;
  readonly keys: Map<string, string>;
  isRecord: boolean;
}

const describe = (fact: FactKey, layer: LayerId) =>
  `${fact.negated ? 'NOT ' : ''}${fact.predicate}(${fact.args.map((a) => JSON.stringify(a)).join(', ')}) in layer ${layer}`;

/** Check every tenant of one open database. */
export async function checkDatabase(name: string, db: LevelDb): Promise<{ tenants: number; entries: number; problems: CheckProblem[] }> {
  const problems = new Problems(name);
  const meta = db.sublevel<string, string>(META_SUBLEVEL, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const metaReader = new KeyspaceReader(meta);
  const journal = new Map<string, Set<LayerId>>();
  for await (const [key] of scanRange(metaReader, retiredLayerRange())) {
    const { tenant, layer } = decodeRetiredLayerKey(key);
    journal.set(tenant, (journal.get(tenant) ?? new Set()).add(layer));
  }
  let tenants = 0;
  let entries = 0;
  for await (const [key, value] of scanRange(metaReader, tenantRegistryRange())) {
    const tenant = tenantFromRegistryKey(key);
    if (value === 'deleting') continue; // a deletion a crash interrupted: the next start finishes it
    if ((await meta.get(pendingImportKey(tenant))) !== undefined) continue; // an import not finished (running, or a crash interrupted it): the next start empties the tenant
    tenants++;
    const sub = db.sublevel<string, string>(tenant, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      entries += await checkTenant(tenant, sub, meta, journal.get(tenant) ?? new Set(), problems);
    } catch (error) {
      problems.add(tenant, 'unreadable', error instanceof Error ? error.message : String(error));
    }
  }
  return { tenants, entries, problems: problems.list };
}

async function checkTenant(tenant: string, sub: LevelSublevel, meta: LevelSublevel, retired: ReadonlySet<LayerId>, problems: Problems): Promise<number> {
  const reader = new KeyspaceReader(sub);
  const registry = await ScopeRegistry.load(sub, 0);
  const versions = await readIndex(tenant, reader, problems);

  // Every fact has one entry per argument position, all holding the same value.
  for (const version of versions.values()) {
    const expected = indexKeysOf(version.fact, version.layer);
    const missing = expected.filter((k) => !version.keys.has(k));
    if (missing.length > 0) problems.add(tenant, 'index entry missing', `${describe(version.fact, version.layer)}: ${missing.length} of ${expected.length} entries missing`);
    const extra = [...version.keys.keys()].filter((k) => !expected.includes(k));
    if (extra.length > 0) problems.add(tenant, 'index entry unexpected', `${describe(version.fact, version.layer)}: ${extra.length} entries`);
    if (new Set(version.keys.values()).size > 1) problems.add(tenant, 'index entries disagree', describe(version.fact, version.layer));
  }

  const use = registry.layerUse();
  const roots = new Set<LayerId>();
  for (const scope of registry.all()) {
    roots.add(scope.chain[scope.chain.length - 1] as LayerId);
    for (const base of Object.values(scope.merges ?? {})) if (base.length > 0) roots.add(base[base.length - 1] as LayerId);
  }

  // Listing entries name facts their layer holds; a listed (non-root) layer lists every fact it holds.
  const listed = new Set<string>();
  for await (const [raw] of scanRange(reader, allListingRange())) {
    const entry = decodeListingKey(raw);
    const primary = primaryKeyOf(entry, entry.layer);
    listed.add(primary);
    if (!versions.has(primary)) problems.add(tenant, 'listing without index entry', describe(entry, entry.layer));
    if (!use.has(entry.layer) && !retired.has(entry.layer)) problems.add(tenant, 'unreferenced layer keys', `listing of ${describe(entry, entry.layer)}`);
  }
  for (const [primary, version] of versions) {
    const referenced = use.has(version.layer);
    if (!referenced && !retired.has(version.layer)) problems.add(tenant, 'unreferenced layer keys', describe(version.fact, version.layer));
    if (referenced && !roots.has(version.layer) && !listed.has(primary)) problems.add(tenant, 'listing missing', describe(version.fact, version.layer));
  }

  checkCounts(tenant, registry, versions, problems);
  await checkRetrieval(reader, indexedVersions(versions), (kind, detail) => problems.add(tenant, kind, detail));
  await checkHistory(tenant, reader, versions, (layer) => use.has(layer) || retired.has(layer), problems);
  await checkEvents(tenant, reader, meta, problems);
  return versions.size;
}

/** Read the whole index, grouping its entries by fact and layer (what the position-0 key names). */
async function readIndex(tenant: string, reader: KeyspaceReader, problems: Problems): Promise<Map<string, Version>> {
  const versions = new Map<string, Version>();
  for await (const [raw, value] of scanRange(reader, allIndexRange())) {
    let entry;
    try {
      entry = decodeIndexKey(raw);
      const decoded = decodeEntryValue(value, raw);
      const primary = primaryKeyOf(entry, entry.layer);
      let version = versions.get(primary);
      if (!version) versions.set(primary, (version = { fact: entry, layer: entry.layer, keys: new Map(), isRecord: false }));
      version.keys.set(raw, value);
      if (raw === primary) version.isRecord = decoded.kind === 'record';
    } catch (error) {
      problems.add(tenant, 'undecodable index entry', `${JSON.stringify(raw)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return versions;
}

/** Each fact version with its record (null: a tombstone), read from its position-0 entry. */
function* indexedVersions(versions: ReadonlyMap<string, Version>): Generator<IndexedVersion> {
  for (const [primary, version] of versions) {
    const raw = version.keys.get(primary);
    if (raw === undefined) continue; // reported as a missing entry
    const value = decodeEntryValue(raw, primary);
    yield { fact: version.fact, layer: version.layer, record: value.kind === 'record' ? value.record : null };
  }
}

/** A scope's stored count is the number of facts (either polarity) whose nearest entry in its chain is a record. */
function checkCounts(tenant: string, registry: ScopeRegistry, versions: ReadonlyMap<string, Version>, problems: Problems): void {
  const byFact = new Map<string, Map<LayerId, boolean>>();
  for (const [primary, version] of versions) {
    const id = groupOfIndexKey(primary);
    const layers = byFact.get(id) ?? new Map<LayerId, boolean>();
    layers.set(version.layer, version.isRecord);
    byFact.set(id, layers);
  }
  for (const scope of registry.all()) {
    let actual = 0;
    for (const layers of byFact.values()) {
      const nearest = scope.chain.find((layer) => layers.has(layer));
      if (nearest !== undefined && layers.get(nearest) === true) actual++;
    }
    const stored = registry.countOf(scope.chain);
    if (stored !== actual) problems.add(tenant, 'scope count mismatch', `scope '${scope.name}': registry says ${stored}, index holds ${actual}`);
  }
}

/**
 * Every history key decodes and belongs to a layer in use (or retired), and the newest version
 * logged for a fact in a layer is what the index holds for it (the write and its log are one
 * batch). Facts written before format 3 have no log: they are not compared.
 */
async function checkHistory(tenant: string, reader: KeyspaceReader, versions: ReadonlyMap<string, Version>, known: (layer: LayerId) => boolean, problems: Problems): Promise<void> {
  let fact: string | null = null;
  for await (const [raw, value] of scanRange(reader, allHistoryRange())) {
    try {
      const key = decodeHistoryKey(raw);
      const logged = decodeHistoryValue(value, raw);
      decodeEntryValue(logged.entry, raw);
      if (key.fact === fact) continue;
      fact = key.fact;
      if (!known(key.layer)) problems.add(tenant, 'unreferenced layer keys', `history of ${describe(key, key.layer)}`);
      const indexed = versions.get(primaryKeyOf(key, key.layer));
      if (indexed === undefined) problems.add(tenant, 'history without index entry', describe(key, key.layer));
      else if (indexed.keys.get(primaryKeyOf(key, key.layer)) !== logged.entry) problems.add(tenant, 'history disagrees with index', describe(key, key.layer));
    } catch (error) {
      problems.add(tenant, 'undecodable history entry', `${JSON.stringify(raw)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** The persisted event counter is never behind the last stored event (a new event would reuse its number). */
async function checkEvents(tenant: string, reader: KeyspaceReader, meta: LevelSublevel, problems: Problems): Promise<void> {
  const [last] = await reader.iterator({ ...eventRange(0), reverse: true, limit: 1 }).all();
  if (last === undefined) return;
  const [key, value] = last;
  const seq = seqOfEventKey(key);
  try {
    const event = decodeEvent(value, key);
    if (event.seq !== seq) problems.add(tenant, 'event seq mismatch', `key says ${seq}, record says ${event.seq}`);
  } catch (error) {
    problems.add(tenant, 'undecodable event', `${seq}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stored = await meta.get(eventSeqKey(tenant));
  const counter = stored === undefined ? 0 : Number(stored);
  if (!(counter >= seq)) problems.add(tenant, 'event counter behind', `counter ${stored ?? 'missing'}, last event ${seq}`);
}

/**
 * Check every database registered in a data directory. `openLevel` makes (without opening) the
 * abstract-level database of a directory; a database that cannot be opened is a problem, not a throw.
 */
export async function checkDataDir(dataDir: string, openLevel: (location: string) => LevelDb, systemName = '_system'): Promise<CheckReport> {
  const system = openLevel(join(dataDir, systemName));
  await system.open();
  const names: string[] = [];
  const problems: CheckProblem[] = [];
  try {
    for await (const [key, value] of system.iterator(databaseRegistryRange())) {
      try {
        const info = decodeJson(value, databaseShape, 'database registration', key);
        if (!info.dropping) names.push(info.name); // an interrupted drop: the next start removes its files
      } catch (error) {
        problems.push({ database: systemName, tenant: null, kind: 'undecodable registration', detail: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await system.close();
  }
  let tenants = 0;
  let entries = 0;
  for (const name of names) {
    // A database is opened (and its directory made) on first use: registered without a directory is
    // empty, not damaged. LevelDB writes CURRENT before its first open returns, so a directory without
    // it is a first open that a crash interrupted before anything could be written (the server makes it again).
    const exists = await stat(join(dataDir, name, 'CURRENT')).then(
      () => true,
      () => false,
    );
    if (!exists) continue;
    const db = openLevel(join(dataDir, name));
    try {
      await db.open();
    } catch (error) {
      problems.push({ database: name, tenant: null, kind: 'cannot open', detail: describeError(error) });
      continue;
    }
    try {
      const result = await checkDatabase(name, db);
      tenants += result.tenants;
      entries += result.entries;
      problems.push(...result.problems);
    } finally {
      await db.close();
    }
  }
  return { databases: names.length, tenants, entries, problems };
}

/** An error's message with its causes (LevelDB's reason is in the cause of abstract-level's error). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
