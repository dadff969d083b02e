import type { FactKey } from '../domain/fact.js';
import {
  type LayerId,
  allIndexRange,
  decodeIndexKey,
  decodeListingKey,
  factKeyOfPresence,
  indexHeadOf,
  isPrimaryIndexKey,
  listingKeyOf,
  listingRange,
  presenceKeyOf,
  presenceKeyOfPrimary,
  primaryKeyOf,
  upperBound,
} from '../encoding/fact-keys.js';
import { type EntryValue, decodeEntryValue } from '../encoding/records.js';
import { allHistoryRange, decodeHistoryKey, decodeHistoryValue } from '../encoding/history-keys.js';
import { allVectorsRange, decodeVector, vectorKey } from '../encoding/retrieval-keys.js';
import { type KeyspaceReader, scanRange } from './level-types.js';

/**
 * Whole-layer reads for diff, merge and garbage collection. A listed layer (one with a parent)
 * is read through its L keys, so the cost follows what the layer changed; a root layer has no
 * listing and is read by a scan of the tenant's index.
 */
export async function* factsInLayer(sub: KeyspaceReader, layer: LayerId, isRoot: boolean): AsyncGenerator<FactKey> {
  if (!isRoot) {
    for await (const [raw] of scanRange(sub, listingRange(layer))) yield decodeListingKey(raw);
    return;
  }
  for await (const [raw] of scanRange(sub, allIndexRange())) {
    if (!isPrimaryIndexKey(raw)) continue;
    const entry = decodeIndexKey(raw);
    if (entry.layer === layer) yield entry;
  }
}

/** A resumable walk's reads: `chunk` is the first read-ahead (it doubles up to 4,096), `read` is told of every raw entry read. */
export interface WalkReads {
  readonly chunk: number;
  readonly read: (entries: number) => void;
}

/**
 * The presence keys (presenceKeyOf) of the facts a listed layer holds, in index order, from the
 * fact `from` names on (itself included). Listing keys sort as presence keys do (both are the
 * predicate, the arity and the terms in that order), so walks of several layers merge.
 */
export async function* listedPresences(sub: KeyspaceReader, layer: LayerId, from: string | null, reads: WalkReads): AsyncGenerator<string> {
  const range = listingRange(layer);
  const gte = from === null ? range.gte : listingKeyOf(factKeyOfPresence(from), layer);
  let last: string | null = null;
  for await (const [raw] of scanRange(sub, { gte, lt: range.lt }, reads.chunk, reads.read)) {
    const presence = presenceKeyOf(decodeListingKey(raw));
    if (presence !== last) yield presence;
    last = presence;
  }
}

/**
 * The presence keys of the facts any of `layers` (root layers: they have no listing) holds, by one
 * walk of the primary index from `from` on: the rotated entries of each predicate and arity are
 * skipped by a seek, not read, and the walk resumes where a page stopped instead of at the start.
 */
export async function* primaryPresences(sub: KeyspaceReader, layers: ReadonlySet<LayerId>, from: string | null, reads: WalkReads): AsyncGenerator<string> {
  const all = allIndexRange();
  const iterator = sub.iterator({ gte: from ?? all.gte, lt: all.lt });
  let chunk = reads.chunk;
  let last: string | null = null;
  try {
    for (;;) {
      const entries = (await iterator.nextv(chunk)) as [string, string][];
      if (entries.length === 0) return;
      reads.read(entries.length);
      chunk = Math.min(chunk * 2, 4096);
      for (const [raw] of entries) {
        if (!isPrimaryIndexKey(raw)) {
          // Past the position-0 entries of this predicate and arity: jump over its rotations.
          iterator.seek(upperBound(indexHeadOf(raw)));
          break;
        }
        if (!layers.has(decodeIndexKey(raw).layer)) continue;
        const presence = presenceKeyOfPrimary(raw);
        if (presence !== last) yield presence;
        last = presence;
      }
    }
  } finally {
    await iterator.close();
  }
}

/** For each fact, its entry in each of the given layers (absent layers are missing from the map). */
export async function entriesIn(
  sub: KeyspaceReader,
  facts: readonly FactKey[],
  layers: readonly LayerId[],
): Promise<Map<LayerId, EntryValue>[]> {
  const keys: string[] = [];
  for (const fact of facts) for (const layer of layers) keys.push(primaryKeyOf(fact, layer));
  const values = keys.length === 0 ? [] : await sub.getMany(keys);
  return facts.map((_, i) => {
    const found = new Map<LayerId, EntryValue>();
    layers.forEach((layer, j) => {
      const raw = values[i * layers.length + j];
      if (raw !== undefined) found.set(layer, decodeEntryValue(raw, keys[i * layers.length + j] ?? null));
    });
    return found;
  });
}

/** The entry that decides a fact's state in a chain: the one in the nearest layer that has any. */
export function nearestEntry(chain: readonly LayerId[], entries: ReadonlyMap<LayerId, EntryValue>): EntryValue | undefined {
  for (const layer of chain) {
    const entry = entries.get(layer);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** One entry of a layer, as the index stores it, with the fact's embedding in that layer (if any). */
export interface LayerEntry {
  readonly key: FactKey;
  readonly layer: LayerId;
  readonly entry: EntryValue;
  readonly embedding?: Float32Array | null;
}

/**
 * Every entry (records and dated tombstones) of the given layers, by one walk of the primary
 * index in index order, rotations skipped by a seek: what an export streams, one batch at a time.
 * With `vectors` (the tenant holds embeddings), a batch's embeddings come in one multi-get.
 */
export async function* entriesOfLayers(sub: KeyspaceReader, layers: ReadonlySet<LayerId>, vectors: boolean): AsyncGenerator<LayerEntry> {
  const all = allIndexRange();
  const iterator = sub.iterator(all);
  try {
    for (;;) {
      const entries = (await iterator.nextv(1024)) as [string, string][];
      if (entries.length === 0) return;
      const batch: LayerEntry[] = [];
      for (const [raw, value] of entries) {
        if (!isPrimaryIndexKey(raw)) {
          iterator.seek(upperBound(indexHeadOf(raw)));
          break;
        }
        const { layer, ...key } = decodeIndexKey(raw);
        if (layers.has(layer)) batch.push({ key, layer, entry: decodeEntryValue(value, raw) });
      }
      if (!vectors || batch.length === 0) {
        yield* batch;
        continue;
      }
      const stored = await sub.getMany(batch.map((e) => vectorKey(e.key, e.layer)));
      for (const [i, e] of batch.entries()) {
        const raw = stored[i];
        yield raw === undefined ? e : { ...e, embedding: decodeVector(raw) };
      }
    }
  } finally {
    await iterator.close();
  }
}

/** Whether any fact of the tenant has an embedding. */
export async function holdsVectors(sub: KeyspaceReader): Promise<boolean> {
  for await (const _ of scanRange(sub, allVectorsRange(), 1)) return true;
  return false;
}

/** The logged versions of one fact (one polarity) in one layer, newest first. */
export interface LayerHistory {
  readonly key: FactKey;
  readonly layer: LayerId;
  readonly versions: readonly { readonly time: number; readonly actor: string | null; readonly version: number; readonly entry: EntryValue }[];
}

/** The history of the given layers, one fact and layer at a time (a fact's versions are adjacent keys). */
export async function* historyOfLayers(sub: KeyspaceReader, layers: ReadonlySet<LayerId>): AsyncGenerator<LayerHistory> {
  let current: { fact: string; key: FactKey; layer: LayerId; versions: LayerHistory['versions'][number][] } | null = null;
  for await (const [raw, value] of scanRange(sub, allHistoryRange(), 1024)) {
    const decoded = decodeHistoryKey(raw);
    if (!layers.has(decoded.layer)) continue;
    if (current === null || current.fact !== decoded.fact || current.layer !== decoded.layer) {
      if (current !== null) yield current;
      current = { fact: decoded.fact, key: { predicate: decoded.predicate, args: decoded.args, negated: decoded.negated }, layer: decoded.layer, versions: [] };
    }
    const logged = decodeHistoryValue(value, raw);
    current.versions.push({ time: decoded.time, actor: logged.actor, version: logged.version, entry: decodeEntryValue(logged.entry, raw) });
  }
  if (current !== null) yield current;
}
