import type { FactKey, FactRecord } from '../domain/fact.js';
import { documentOf } from '../domain/tokens.js';
import type { LayerId } from '../encoding/fact-keys.js';
import {
  type StoredDocument,
  decodeDocument,
  decodeDocumentKey,
  decodeLayerStats,
  documentKeyOfGroup,
  documentRange,
  encodeDocument,
  encodeLayerStats,
  encodePosting,
  decodeVector,
  encodeVector,
  factGroup,
  layerStatsKey,
  postingKey,
  postingKeyOfGroup,
  vectorKeyOfGroup,
  vectorRange,
} from '../encoding/retrieval-keys.js';
import { CorruptionError } from '../domain/errors.js';
import type { VectorUpdate } from './vector-cache.js';
import { type BatchOp, type KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';

/**
 * What a fact write means for the retrieval indexes of its layer. `embedding`: a new vector,
 * null to drop it, undefined to keep the fact's vector as the nearest layer of `vectorFrom` holds it.
 */
export interface DocumentChange {
  readonly key: FactKey;
  readonly layer: LayerId;
  /** The record written (null: the fact leaves this layer, or a tombstone hides it there). */
  readonly record: FactRecord | null;
  readonly embedding?: Float32Array | null;
  readonly vectorFrom?: readonly LayerId[];
  /**
   * No layer of the tenant holds an entry of this fact (its key filter says so): its documents and
   * vectors cannot exist (they are written and removed with the entries), so they are not read.
   */
  readonly fresh?: boolean;
}

/**
 * The stored statistics of a tenant's layers (encoded value, null: none stored) as its last commit
 * left them. Exact because a tenant's keyspace changes only in its commits, one at a time (see
 * range-cache.ts): the store learns every value a commit read or wrote, and forgets them all when a
 * write fails or the tenant is cleared. Saves a single tell its only read.
 */
export class LayerStatsCache {
  private readonly values = new Map<LayerId, string | null>();

  get(layer: LayerId): string | null | undefined {
    return this.values.get(layer);
  }

  /** What a commit read and wrote, once its batch is written. */
  learn(values: ReadonlyMap<LayerId, string | null>): void {
    for (const [layer, value] of values) this.values.set(layer, value);
  }

  clear(): void {
    this.values.clear();
  }
}

/**
 * Each fact's text (factGroup) encoded once per call: a single tell's slot, posting, vector and
 * statistics keys all start from it (it was encoded seven times for one fact).
 */
class Groups {
  private readonly groups = new Map<FactKey, string>();

  of(key: FactKey): string {
    let group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, (group = factGroup(key)));
    return group;
  }

  slot(key: FactKey, layer: LayerId): string {
    return documentKeyOfGroup(this.of(key), layer);
  }
}

/** What a layer holds of one fact for retrieval. */
interface Indexed {
  readonly doc: StoredDocument;
  readonly embedding: Float32Array | null;
}

/**
 * Turn the document changes of a transaction into batch ops: postings, documents, vectors and
 * layer statistics, computed against what is stored (one multi-get) and against the earlier
 * changes of the same transaction (applied in order, the last one wins).
 */
export async function retrievalOps(
  keyspace: KeyspaceReader,
  sub: LevelSublevel,
  changes: readonly DocumentChange[],
  statsCache: LayerStatsCache | null = null,
): Promise<{ ops: BatchOp[]; vectors: VectorUpdate[]; stats: Map<LayerId, string | null> }> {
  if (changes.length === 0) return { ops: [], vectors: [], stats: new Map() };
  const quick = freshOps(sub, changes, statsCache);
  if (quick !== null) return quick;
  const groups = new Groups();
  const owners = new Map<string, { key: FactKey; layer: LayerId }>();
  const want = (key: FactKey, layer: LayerId) => {
    const at = groups.slot(key, layer);
    if (!owners.has(at)) owners.set(at, { key, layer });
  };
  for (const c of changes) want(c.key, c.layer);
  const written = new Set(owners.keys());
  for (const c of changes) if (c.record !== null && c.embedding === undefined) for (const l of c.vectorFrom ?? []) want(c.key, l);
  // A slot is read unless every change of its fact says the fact is fresh (nothing stored in any layer).
  const fresh = changes.some((c) => c.fresh === true);
  const stale = fresh ? new Set(changes.filter((c) => c.fresh !== true).map((c) => groups.of(c.key))) : null;
  const slots = [...owners.entries()].filter(([, o]) => stale === null || stale.has(groups.of(o.key)));
  const statLayers = [...new Set(changes.map((c) => c.layer))];
  const unknownStats = statLayers.filter((layer) => statsCache?.get(layer) === undefined);
  // Documents, vectors and the statistics of every written layer in one multi-get: one round trip
  // through the thread pool per commit instead of three (it was a fifth of a single tell's CPU),
  // and none at all for a tell of new facts into layers whose statistics the store knows.
  const keys = [...slots.map(([at]) => at), ...slots.map(([, o]) => vectorKeyOfGroup(groups.of(o.key), o.layer)), ...unknownStats.map(layerStatsKey)];
  const values = keys.length === 0 ? [] : await keyspace.getMany(keys);
  const docValues = values.slice(0, slots.length);
  const vecValues = values.slice(slots.length, 2 * slots.length);
  const statValues = new Map<LayerId, string | null>(statLayers.map((layer) => [layer, statsCache?.get(layer) ?? null]));
  unknownStats.forEach((layer, i) => statValues.set(layer, values[2 * slots.length + i] ?? null));
  const stored = new Map<string, Indexed | null>();
  for (const at of owners.keys()) stored.set(at, null);
  slots.forEach(([at, o], i) => stored.set(at, parseIndexed(docValues[i], vecValues[i], at, vectorKeyOfGroup(groups.of(o.key), o.layer))));
  const read = new Set(slots.map(([at]) => at));
  const current = new Map(stored);
  const statDelta = new Map<LayerId, { documents: number; totalLength: number }>();
  const bump = (layer: LayerId, documents: number, length: number) => {
    const d = statDelta.get(layer) ?? { documents: 0, totalLength: 0 };
    statDelta.set(layer, { documents: d.documents + documents, totalLength: d.totalLength + length });
  };
  for (const c of changes) {
    const at = groups.slot(c.key, c.layer);
    const before = current.get(at) ?? null;
    let after: Indexed | null = null;
    if (c.record !== null) {
      const doc = documentOf(c.key, c.record.metadata);
      const embedding = c.embedding !== undefined ? c.embedding : nearestVector(current, groups, c.key, c.vectorFrom ?? []);
      after = { doc: { terms: termsRecord(doc.terms), length: doc.length }, embedding };
    }
    if (before !== null) bump(c.layer, -1, -before.doc.length);
    if (after !== null) bump(c.layer, 1, after.doc.length);
    current.set(at, after);
  }
  const ops: BatchOp[] = [];
  const vectors: VectorUpdate[] = [];
  for (const at of written) {
    const { key, layer } = owners.get(at) as { key: FactKey; layer: LayerId };
    const before = stored.get(at) ?? null;
    const after = current.get(at) ?? null;
    // A slot of a fresh fact was not read: nothing is stored there, not even a vector to delete.
    slotOps(ops, sub, groups.of(key), at, layer, before, after, !read.has(at));
    if ((before?.embedding ?? null) !== null || (after?.embedding ?? null) !== null) {
      vectors.push({ layer, group: groups.of(key), key, vector: after?.embedding ?? null });
    }
  }
  const stats = new Map(statValues);
  ops.push(...statOps(sub, statDelta, statValues, stats));
  return { ops, vectors, stats };
}

/**
 * The common case of a tell, without reading or the bookkeeping of the general case (a tenth of
 * a single tell's allocations): every change puts a new fact (fresh: nothing of it is stored in
 * any layer, so there is nothing to read or replace) into its own slot, with no vector to carry
 * over, into layers whose statistics the store knows. Null otherwise. Same ops, in the same order.
 */
function freshOps(sub: LevelSublevel, changes: readonly DocumentChange[], statsCache: LayerStatsCache | null): Awaited<ReturnType<typeof retrievalOps>> | null {
  const stored = new Map<LayerId, string | null>();
  for (const c of changes) {
    if (c.fresh !== true || c.record === null || (c.embedding === undefined && (c.vectorFrom?.length ?? 0) > 0)) return null;
    const value = statsCache?.get(c.layer);
    if (value === undefined) return null;
    stored.set(c.layer, value);
  }
  const ops: BatchOp[] = [];
  const vectors: VectorUpdate[] = [];
  const slots = new Set<string>();
  const deltas = new Map<LayerId, { documents: number; totalLength: number }>();
  for (const c of changes) {
    const group = factGroup(c.key);
    const at = documentKeyOfGroup(group, c.layer);
    if (slots.has(at)) return null; // two writes of one slot: the general case applies them in order
    slots.add(at);
    const doc = documentOf(c.key, (c.record as FactRecord).metadata);
    const embedding = c.embedding ?? null;
    slotOps(ops, sub, group, at, c.layer, null, { doc: { terms: termsRecord(doc.terms), length: doc.length }, embedding }, true);
    if (embedding !== null) vectors.push({ layer: c.layer, group, key: c.key, vector: embedding });
    const d = deltas.get(c.layer) ?? { documents: 0, totalLength: 0 };
    deltas.set(c.layer, { documents: d.documents + 1, totalLength: d.totalLength + doc.length });
  }
  const stats = new Map(stored);
  ops.push(...statOps(sub, deltas, stored, stats));
  return { ops, vectors, stats };
}

/**
 * A document's term frequencies as the stored object (same keys, same order as Object.fromEntries,
 * so the same JSON), without a prototype: its keys are the fact's words, and on an ordinary object
 * every new word is a new hidden class (Object.fromEntries took a microsecond a fact).
 */
function termsRecord(terms: ReadonlyMap<string, number>): Record<string, number> {
  const record = Object.create(null) as Record<string, number>;
  for (const [token, tf] of terms) record[token] = tf;
  return record;
}

/** Appends to `ops` what one slot (`at`, the document key of the fact `group` in `layer`) changes. */
function slotOps(ops: BatchOp[], sub: LevelSublevel, group: string, at: string, layer: LayerId, before: Indexed | null, after: Indexed | null, empty: boolean): void {
  // for…in, not Object.keys/entries: those go through V8's runtime for dictionary-mode term objects.
  const old = before?.doc.terms ?? {};
  for (const token in old) {
    if (after === null || !(token in after.doc.terms)) ops.push({ type: 'del', key: postingKeyOfGroup(token, group, layer), sublevel: sub });
  }
  if (after === null) {
    ops.push({ type: 'del', key: at, sublevel: sub }, { type: 'del', key: vectorKeyOfGroup(group, layer), sublevel: sub });
    return;
  }
  const terms = after.doc.terms;
  for (const token in terms) {
    ops.push({ type: 'put', key: postingKeyOfGroup(token, group, layer), value: encodePosting(terms[token] as number, after.doc.length), sublevel: sub });
  }
  ops.push({ type: 'put', key: at, value: encodeDocument(after.doc), sublevel: sub });
  if (after.embedding !== null) ops.push({ type: 'put', key: vectorKeyOfGroup(group, layer), value: encodeVector(after.embedding), sublevel: sub });
  else if (!empty) ops.push({ type: 'del', key: vectorKeyOfGroup(group, layer), sublevel: sub });
}

/** `after` learns the value written for each layer. */
function statOps(
  sub: LevelSublevel,
  deltas: ReadonlyMap<LayerId, { documents: number; totalLength: number }>,
  stored: ReadonlyMap<LayerId, string | null>,
  after: Map<LayerId, string | null>,
): BatchOp[] {
  const ops: BatchOp[] = [];
  deltas.forEach((delta, layer) => {
    if (delta.documents === 0 && delta.totalLength === 0) return;
    const was = decodeLayerStats(stored.get(layer) ?? undefined);
    const value = encodeLayerStats(was.documents + delta.documents, was.totalLength + delta.totalLength);
    after.set(layer, value);
    ops.push({ type: 'put', key: layerStatsKey(layer), value, sublevel: sub });
  });
  return ops;
}

function nearestVector(current: ReadonlyMap<string, Indexed | null>, groups: Groups, key: FactKey, chain: readonly LayerId[]): Float32Array | null {
  for (const layer of chain) {
    const indexed = current.get(groups.slot(key, layer));
    if (indexed) return indexed.embedding;
  }
  return null;
}

function parseDocument(raw: string | undefined, key: string): StoredDocument | null {
  if (raw === undefined) return null;
  const doc = decodeDocument(raw);
  if (doc === null) throw new CorruptionError('retrieval document', key);
  return doc;
}

function parseIndexed(rawDoc: string | undefined, rawVector: string | undefined, docKey: string, vecKey: string): Indexed | null {
  const doc = parseDocument(rawDoc, docKey);
  if (doc === null) return null;
  if (rawVector === undefined) return { doc, embedding: null };
  const embedding = decodeVector(rawVector);
  if (embedding === null) throw new CorruptionError('fact embedding', vecKey);
  return { doc, embedding };
}

/** Ops removing every retrieval key of a layer (its documents, their postings, its statistics). */
export async function dropLayerRetrieval(keyspace: KeyspaceReader, sub: LevelSublevel, layer: LayerId): Promise<BatchOp[]> {
  const ops: BatchOp[] = [];
  for await (const [at, raw] of scanRange(keyspace, documentRange(layer))) {
    const key = decodeDocumentKey(at);
    for (const token of Object.keys(parseDocument(raw, at)?.terms ?? {})) ops.push({ type: 'del', key: postingKey(token, key, layer), sublevel: sub });
    ops.push({ type: 'del', key: at, sublevel: sub });
  }
  for await (const [at] of scanRange(keyspace, vectorRange(layer))) ops.push({ type: 'del', key: at, sublevel: sub });
  ops.push({ type: 'del', key: layerStatsKey(layer), sublevel: sub });
  return ops;
}
