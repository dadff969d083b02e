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
