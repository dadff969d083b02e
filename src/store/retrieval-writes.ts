import type { FactKey, FactRecord } from '../domain/fact.js';
import { documentOf } from '../domain/tokens.js';
import type { LayerId } from '../encoding/fact-keys.js';
import {
  type StoredDocument,
  decodeDocument,
  decodeDocumentKey,
  decodeLayerStats,
  documentKey,
  documentRange,
  encodeDocument,
  encodeLayerStats,
  encodePosting,
  layerStatsKey,
  postingKey,
} from '../encoding/retrieval-keys.js';
import { CorruptionError } from '../domain/errors.js';
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
}

const slot = (key: FactKey, layer: LayerId) => documentKey(key, layer);

/**
 * Turn the document changes of a transaction into batch ops: postings, documents and layer
 * statistics, computed against what is stored (one multi-get) and against the earlier changes
 * of the same transaction (applied in order, the last one wins).
 */
export async function retrievalOps(keyspace: KeyspaceReader, sub: LevelSublevel, changes: readonly DocumentChange[]): Promise<BatchOp[]> {
  if (changes.length === 0) return [];
  const wanted = new Set<string>();
  const owners = new Map<string, { key: FactKey; layer: LayerId }>();
  for (const c of changes) {
    const at = slot(c.key, c.layer);
    wanted.add(at);
    owners.set(at, { key: c.key, layer: c.layer });
    if (c.record !== null && c.embedding === undefined) for (const l of c.vectorFrom ?? []) wanted.add(slot(c.key, l));
  }
  const keys = [...wanted];
  const values = await keyspace.getMany(keys);
  const stored = new Map<string, StoredDocument | null>();
  keys.forEach((k, i) => stored.set(k, parseDocument(values[i], k)));
  const current = new Map(stored);
  const statDelta = new Map<LayerId, { documents: number; totalLength: number }>();
  const bump = (layer: LayerId, documents: number, length: number) => {
    const d = statDelta.get(layer) ?? { documents: 0, totalLength: 0 };
    statDelta.set(layer, { documents: d.documents + documents, totalLength: d.totalLength + length });
  };
  for (const c of changes) {
    const at = slot(c.key, c.layer);
    const before = current.get(at) ?? null;
    let after: StoredDocument | null = null;
    if (c.record !== null) {
      const doc = documentOf(c.key, c.record.metadata);
      const embedding = c.embedding !== undefined ? c.embedding : nearestVector(current, c.key, c.vectorFrom ?? []);
      after = { terms: Object.fromEntries(doc.terms), length: doc.length, embedding };
    }
    if (before !== null) bump(c.layer, -1, -before.length);
    if (after !== null) bump(c.layer, 1, after.length);
    current.set(at, after);
  }
  const ops: BatchOp[] = [];
  for (const [at, after] of current) {
    const before = stored.get(at) ?? null;
    if (before === after) continue;
    const owner = owners.get(at);
    if (owner === undefined) continue; // read only to copy a vector from
    const { key, layer } = owner;
    for (const token of Object.keys(before?.terms ?? {})) {
      if (after === null || !(token in after.terms)) ops.push({ type: 'del', key: postingKey(token, key, layer), sublevel: sub });
    }
    if (after === null) {
      ops.push({ type: 'del', key: at, sublevel: sub });
      continue;
    }
    for (const [token, tf] of Object.entries(after.terms)) ops.push({ type: 'put', key: postingKey(token, key, layer), value: encodePosting(tf, after.length), sublevel: sub });
    ops.push({ type: 'put', key: at, value: encodeDocument(after), sublevel: sub });
  }
  const layers = [...statDelta.keys()];
  const stats = await keyspace.getMany(layers.map(layerStatsKey));
  layers.forEach((layer, i) => {
    const delta = statDelta.get(layer) as { documents: number; totalLength: number };
    if (delta.documents === 0 && delta.totalLength === 0) return;
    const was = decodeLayerStats(stats[i]);
    ops.push({ type: 'put', key: layerStatsKey(layer), value: encodeLayerStats(was.documents + delta.documents, was.totalLength + delta.totalLength), sublevel: sub });
  });
  return ops;
}

function nearestVector(current: ReadonlyMap<string, StoredDocument | null>, key: FactKey, chain: readonly LayerId[]): Float32Array | null {
  for (const layer of chain) {
    const doc = current.get(slot(key, layer));
    if (doc) return doc.embedding;
  }
  return null;
}

function parseDocument(raw: string | undefined, key: string): StoredDocument | null {
  if (raw === undefined) return null;
  const doc = decodeDocument(raw);
  if (doc === null) throw new CorruptionError('retrieval document', key);
  return doc;
}

/** Ops removing every retrieval key of a layer (its documents, their postings, its statistics). */
export async function dropLayerRetrieval(keyspace: KeyspaceReader, sub: LevelSublevel, layer: LayerId): Promise<BatchOp[]> {
  const ops: BatchOp[] = [];
  for await (const [at, raw] of scanRange(keyspace, documentRange(layer))) {
    const key = decodeDocumentKey(at);
    for (const token of Object.keys(parseDocument(raw, at)?.terms ?? {})) ops.push({ type: 'del', key: postingKey(token, key, layer), sublevel: sub });
    ops.push({ type: 'del', key: at, sublevel: sub });
  }
  ops.push({ type: 'del', key: layerStatsKey(layer), sublevel: sub });
  return ops;
}
