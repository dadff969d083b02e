import { MAIN_SCOPE } from '../domain/fact.js';
import type { FactKey, FactRecord } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { sizeOf } from './fact-writes.js';
import type { RuleRecord } from './rule-records.js';
import type { SessionRecord } from './session-records.js';
import type { TenantTransaction } from './transaction.js';
import type { LayerEntry, LayerHistory } from './layer-reader.js';
import type { ScopeRecord } from './scope-registry.js';

/** A fact as an export carries it: its scope, identity and stored record (versions and times kept). */
export interface ImportedFact {
  readonly scope: string;
  readonly key: FactKey;
  readonly record: FactRecord;
}

export interface ImportChunk {
  readonly scopes: readonly { readonly name: string; readonly createdAt: number }[];
  readonly rules: readonly RuleRecord[];
  readonly facts: readonly ImportedFact[];
  /** Context sessions (the window each was last sent) and access counts, as exported. */
  readonly sessions?: readonly { readonly id: string; readonly record: SessionRecord }[];
  readonly accessCounts?: readonly { readonly identity: string; readonly count: number }[];
}

/**
 * Restore part of an export into a tenant, in the caller's transaction: scopes are created as
 * roots (with their creation times), facts are written with their records as they were (not as
 * new tells), counted, and refused when the same fact is already in that scope. Returns the index
 * in `chunk.facts` of a duplicate, or -1.
 */
export async function importChunk(tx: TenantTransaction, chunk: ImportChunk): Promise<number> {
  const registry = tx.scopes;
  for (const scope of chunk.scopes) {
    const present = registry.get(scope.name);
    // `main` exists in every tenant from the start: it takes the creation time of the exported one.
    if (present) registry.put({ ...present, createdAt: scope.createdAt });
    else registry.createRoot(scope.name, scope.createdAt);
  }
  for (const rule of chunk.rules) tx.putRule(rule);
  for (const session of chunk.sessions ?? []) tx.putSession(session.id, session.record);
  for (const access of chunk.accessCounts ?? []) tx.putAccessCount(access.identity, access.count);
  const chains = chunk.facts.map((f) => (registry.get(f.scope) ?? registry.createRoot(f.scope, tx.now)).chain);
  const layers = [...new Set(chains.map((c) => c[0] as LayerId))];
  const existing = await tx.entriesIn(chunk.facts.map((f) => f.key), layers);
  const seen = new Set<string>();
  for (let i = 0; i < chunk.facts.length; i++) {
    const fact = chunk.facts[i] as ImportedFact;
    const layer = (chains[i] as readonly LayerId[])[0] as LayerId;
    const id = `${fact.scope}\0${JSON.stringify([fact.key.predicate, fact.key.args, fact.key.negated])}`;
    if (existing[i]?.has(layer) || seen.has(id)) return i;
    seen.add(id);
    tx.putFact(fact.key, chains[i] as readonly LayerId[], fact.record);
    registry.adjustCount(layer, 1);
    registry.adjustBytes(sizeOf(fact.key, fact.record));
  }
  return -1;
}

/** Part of a version-3 import: entries and logged versions of layers, in the importing tenant's layer ids. */
export interface LayerImportChunk {
  readonly entries: readonly LayerEntry[];
  readonly history: readonly LayerHistory[];
  readonly sessions: readonly { readonly id: string; readonly record: SessionRecord }[];
  readonly accessCounts: readonly { readonly identity: string; readonly count: number }[];
}

/**
 * Write part of a version-3 import in the caller's transaction: each entry into its layer as it
 * was (listed when the layer is not a root: diff and merge read a listed layer through its
 * listing), each fact's versions logged oldest first with their own times. The layers belong to
 * no scope until `installLayout`: nothing is visible before the whole file is in. Returns the
 * index in `chunk.entries` of an entry its layer already holds, or -1.
 */
export async function importLayerChunk(tx: TenantTransaction, chunk: LayerImportChunk, roots: ReadonlySet<LayerId>): Promise<number> {
  for (const session of chunk.sessions) tx.putSession(session.id, session.record);
  for (const access of chunk.accessCounts) tx.putAccessCount(access.identity, access.count);
  const layers = [...new Set(chunk.entries.map((e) => e.layer))];
  const existing = await tx.entriesIn(chunk.entries.map((e) => e.key), layers);
  const seen = new Set<string>();
  for (const [i, { key, layer, entry, embedding }] of chunk.entries.entries()) {
    const id = `${layer}\0${JSON.stringify([key.predicate, key.args, key.negated])}`;
    if (existing[i]?.has(layer) || seen.has(id)) return i;
    seen.add(id);
    tx.putEntry(key, layer, entry, !roots.has(layer), { embedding: embedding ?? null });
  }
  for (const { key, layer, versions } of chunk.history) {
    for (let v = versions.length - 1; v >= 0; v--) {
      const { time, actor, entry, version } = versions[v] as LayerHistory['versions'][number];
      tx.logImported(key, layer, time, actor, entry, version);
    }
  }
  return -1;
}

/** The layout of a version-3 import, in the importing tenant's layer ids. */
export interface ImportedLayout {
  readonly scopes: readonly ScopeRecord[];
  /** Per layer, what its writes added to the chain it topped (ScopeRegistry.adjustCount). */
  readonly counts: ReadonlyMap<LayerId, number>;
  readonly bytes: number;
  readonly rules: readonly RuleRecord[];
}

/**
 * The last transaction of a version-3 import: the scopes take the imported layout (the empty
 * tenant's own `main` gives way to the imported one, its layer retired), with the layers' counts,
 * the stored bytes and the rules. Everything imported becomes visible here, at once (the caller
 * ends the import in the same transaction: TenantTransaction.endImport).
 */
export async function installLayout(tx: TenantTransaction, layout: ImportedLayout): Promise<void> {
  const registry = tx.scopes;
  const before = registry.all();
  const used = registry.layerUse();
  for (const scope of before) registry.remove(scope.name);
  for (const scope of layout.scopes) registry.put(scope);
  // A tenant always has a main: a file without one (a tenant never written) leaves an empty one.
  if (!registry.has(MAIN_SCOPE)) registry.createRoot(MAIN_SCOPE, tx.now);
  for (const [layer, count] of layout.counts) registry.adjustCount(layer, count);
  registry.adjustBytes(layout.bytes - registry.storedBytes);
  for (const rule of layout.rules) tx.putRule(rule);
  const kept = registry.layerUse();
  for (const [layer] of used) {
    // A layer never written (the main of a tenant created by this import) has no keys to collect.
    if (!kept.has(layer) && (await tx.layerWritten(layer))) tx.retireLayer(layer, before.some((s) => s.chain[s.chain.length - 1] === layer));
  }
}
