import { StorageUnavailableError, ValidationError, type VesperError } from '../domain/errors.js';
import { type ExportLineV3, ExportLineError, type ExportVersion, decodeExportLine } from '../contract/portability.js';
import type { EntryValue } from '../encoding/records.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { parseRule } from '../engine/index.js';
import type { LayerEntry, LayerHistory } from '../store/layer-reader.js';
import type { RuleRecord } from '../store/rule-records.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import type { TenantStore, TenantTransaction } from '../store/tenant-store.js';
import { type LayerImportChunk, importLayerChunk, installLayout } from '../store/tenant-import.js';
import type { Clock } from './clock.js';

/*
 * The reading side of an import (portability.ts): lines decoded and checked, and a version-3
 * export restored layer by layer into new layers that no scope reads until the layout is installed.
 */

/** Facts (or logged versions) per transaction of an import: memory stays bounded whatever the size of the file. */
export const CHUNK = 2000;

export interface ImportCounts {
  layers: number;
  scopes: number;
  rules: number;
  /** Entries holding a record (version 3: per layer; versions 1 and 2: per scope). */
  facts: number;
  /** Entries that retract a fact of a layer below (version 3). */
  retractions: number;
  /** Logged versions (version 3). */
  versions: number;
  sessions: number;
  accessCounts: number;
}

export const noCounts = (): ImportCounts => ({ layers: 0, scopes: 0, rules: 0, facts: 0, retractions: 0, versions: 0, sessions: 0, accessCounts: 0 });

/** A non-blank line of an import, with its number in the file. */
export interface NumberedLine {
  readonly number: number;
  readonly text: string;
}

/** The order of the kinds of a version-3 export: a line may not come after one of a later kind. */
const RANK: Record<ExportLineV3['kind'], number> = { header: 0, layer: 1, scope: 2, rule: 3, entry: 4, history: 5, session: 6, access: 7, end: 8 };

export const entryFields = (entry: EntryValue) => (entry.kind === 'record' ? { record: entry.record } : { record: null, retractedAt: entry.at });
export const entryOf = (value: { record: ExportEntryRecord | null; retractedAt?: number | undefined }): EntryValue =>
  value.record === null ? { kind: 'tombstone', at: value.retractedAt ?? 0 } : { kind: 'record', record: value.record };
type ExportEntryRecord = NonNullable<Extract<ExportLineV3, { kind: 'entry' }>['record']>;

/**
 * What the last transaction of an import does besides its writes: end the import (its pending marker
 * goes in the same batch), unless the import lost its lock meanwhile (pending-imports.ts).
 */
export type FinishImport = (tx: TenantTransaction) => void;

export function finishing(held: () => boolean): FinishImport {
  return (tx) => {
    // Shared storage: a broken connection released the import's lock, and another process may be undoing it now.
    if (!held()) throw new StorageUnavailableError('connection');
    tx.endImport();
  };
}

export async function restoreLayers(store: TenantStore, lines: AsyncIterable<NumberedLine>, dimensions: number | null, clock: Clock, finish: FinishImport): Promise<ImportCounts> {
  const counts = noCounts();
  /** Exported layer id → its fact count, then (once the layout is read) → the new id. */
  const declared = new Map<number, number>();
  let ids: Map<number, LayerId> | null = null;
  let roots = new Set<LayerId>();
  const scopes: Extract<ExportLineV3, { kind: 'scope' }>[] = [];
  let layout: ScopeRecord[] = [];
  const rules: RuleRecord[] = [];
  const empty = (): LayerImportChunk & { entries: LayerEntry[]; history: LayerHistory[]; sessions: LayerImportChunk['sessions'][number][]; accessCounts: LayerImportChunk['accessCounts'][number][] } => ({
    entries: [],
    history: [],
    sessions: [],
    accessCounts: [],
  });
  let chunk = empty();
  let lineOf: number[] = [];
  let size = 0;
  const flush = async () => {
    const [pending, numbers] = [chunk, lineOf];
    [chunk, lineOf, size] = [empty(), [], 0];
    if (pending.entries.length + pending.history.length + pending.sessions.length + pending.accessCounts.length === 0) return;
    const duplicate = await store.transaction(clock(), (tx) => importLayerChunk(tx, pending, roots));
    if (duplicate >= 0) throw badLine(numbers[duplicate] ?? 0, 'the same entry twice in one layer');
  };
  const added = async (n: number) => {
    size += n;
    if (size >= CHUNK) await flush();
  };
  /** The layout is read: allocate the new layers (one transaction) and map the scopes onto them. */
  const closeLayout = async () => {
    const exported = [...declared.keys()];
    const allocated = await store.transaction(clock(), async (tx) => exported.map(() => tx.scopes.allocateLayer()));
    const map = new Map(exported.map((id, i) => [id, allocated[i] as LayerId]));
    const to = (id: number) => map.get(id) as LayerId;
    layout = scopes.map(({ name, base, createdAt, chain, merges, cutoffs }) => ({
      name,
      base,
      createdAt,
      chain: chain.map(to),
      ...(merges === undefined ? {} : { merges: Object.fromEntries(Object.entries(merges).map(([source, c]) => [source, c.map(to)])) }),
      ...(cutoffs === undefined ? {} : { cutoffs: Object.fromEntries(Object.entries(cutoffs).map(([layer, time]) => [String(to(Number(layer))), time])) }),
    }));
    roots = new Set(layout.flatMap((s) => [s.chain, ...Object.values(s.merges ?? {})]).map((c) => c[c.length - 1] as LayerId));
    ids = map;
    return map;
  };
  const layerOf = (id: number, number: number): LayerId => {
    const mapped = ids?.get(id);
    if (mapped === undefined) throw badLine(number, `layer ${id} is not in the layout`);
    return mapped;
  };
  let rank = 0;
  let last = 1;
  let ended = false;
  let bytes = 0;
  for await (const { number, text } of lines) {
    last = number;
    if (ended) throw badLine(number, 'a line after the end line');
    const value = decode(text, number, 3).line as ExportLineV3;
    if (value.kind === 'header') throw badLine(number, 'a second header');
    if (RANK[value.kind] < rank) throw badLine(number, `a ${value.kind} line after the ${Object.keys(RANK)[rank]} lines (the order is layers, scopes, rules, entries, history, sessions, access counts)`);
    rank = RANK[value.kind];
    if (ids === null && rank > RANK.scope) await closeLayout();
    if (value.kind === 'layer') {
      if (declared.has(value.id)) throw badLine(number, `layer ${value.id} twice`);
      declared.set(value.id, value.facts);
      counts.layers++;
    } else if (value.kind === 'scope') {
      checkScope(value, declared, scopes, number);
      scopes.push(value);
      counts.scopes++;
    } else if (value.kind === 'rule') {
      rules.push(ruleOf(value, number));
      counts.rules++;
    } else if (value.kind === 'entry') {
      if (value.embedding !== undefined && value.embedding.length !== dimensions) {
        throw badLine(number, `embedding has ${value.embedding.length} dimensions; the database declares ${dimensions === null ? 'no embeddingDimensions' : `embeddingDimensions ${dimensions}`}`);
      }
      const embedding = value.embedding === undefined ? {} : { embedding: Float32Array.from(value.embedding) };
      chunk.entries.push({ key: { predicate: value.predicate, args: value.args, negated: value.negated }, layer: layerOf(value.layer, number), entry: entryOf(value), ...embedding });
      lineOf.push(number);
      if (value.record === null) counts.retractions++;
      else counts.facts++;
      await added(1);
    } else if (value.kind === 'history') {
      const versions = value.versions.map((v) => ({ time: v.time, actor: v.actor, version: v.version, entry: entryOf(v) }));
      chunk.history.push({ key: { predicate: value.predicate, args: value.args, negated: value.negated }, layer: layerOf(value.layer, number), versions });
      counts.versions += versions.length;
      await added(versions.length);
    } else if (value.kind === 'session') {
      const { kind: _kind, id, ...record } = value;
      chunk.sessions.push({ id, record });
      counts.sessions++;
      await added(10);
    } else if (value.kind === 'access') {
      chunk.accessCounts.push({ identity: value.fact, count: value.count });
      counts.accessCounts++;
      await added(1);
    } else {
      const { kind: _kind, bytes: stored, ...told } = value;
      const names = Object.keys(counts) as (keyof ImportCounts)[];
      if (names.some((name) => told[name] !== counts[name])) {
        throw badLine(number, `the end line counts ${names.map((n) => `${told[n]} ${n}`).join(', ')}; the file holds ${names.map((n) => counts[n]).join(', ')}`);
      }
      bytes = stored;
      ended = true;
    }
  }
  if (!ended) throw badLine(last + 1, 'the export ends without its end line (cut off?)');
  // The layout is closed by the first line after it; an export with no such line closes it here.
  const mapped = ids ?? (await closeLayout());
  await flush();
  const layerCounts = new Map([...declared].map(([id, facts]) => [mapped.get(id) as LayerId, facts]));
  await store.transaction(clock(), async (tx) => {
    await installLayout(tx, { scopes: layout, counts: layerCounts, bytes, rules });
    finish(tx);
  });
  return counts;
}

export function decode(text: string, number: number, version: ExportVersion | null) {
  try {
    return decodeExportLine(text, version);
  } catch (error) {
    if (error instanceof ExportLineError) throw badLine(number, error.message);
    throw error;
  }
}

export function ruleOf(value: { id: string; text: string; scope: string | null; createdAt: number }, number: number): RuleRecord {
  try {
    parseRule(value.text);
  } catch (error) {
    throw badLine(number, `rule does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { id: value.id, text: value.text, scope: value.scope, createdAt: value.createdAt };
}

/**
 * A scope line names only declared layers, its cutoffs only layers of its chain, and no layer is
 * both the bottom of a chain (a root: not listed) and above another layer in some chain.
 */
function checkScope(value: Extract<ExportLineV3, { kind: 'scope' }>, declared: ReadonlyMap<number, number>, before: readonly Extract<ExportLineV3, { kind: 'scope' }>[], number: number): void {
  if (before.some((s) => s.name === value.name)) throw badLine(number, `scope '${value.name}' twice`);
  const chains = [value.chain, ...Object.values(value.merges ?? {})];
  for (const chain of chains) {
    if (new Set(chain).size !== chain.length) throw badLine(number, 'a chain names a layer twice');
    const unknown = chain.find((id) => !declared.has(id));
    if (unknown !== undefined) throw badLine(number, `layer ${unknown} is not in the layout`);
  }
  for (const layer of Object.keys(value.cutoffs ?? {})) {
    if (!value.chain.includes(Number(layer))) throw badLine(number, `cutoffs: layer ${layer} is not in the scope's chain`);
  }
  const all = [...before.flatMap((s) => [s.chain, ...Object.values(s.merges ?? {})]), ...chains];
  const bottoms = new Set(all.map((c) => c[c.length - 1]));
  const above = all.flatMap((c) => c.slice(0, -1)).find((id) => bottoms.has(id));
  if (above !== undefined) throw badLine(number, `layer ${above} is the bottom of one chain and above another layer in another`);
}

export function badLine(line: number, problem: string): VesperError {
  return new ValidationError(`import line ${line}: ${problem}; nothing was imported`, { line });
}
