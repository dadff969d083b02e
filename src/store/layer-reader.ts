import type { FactKey } from '../domain/fact.js';
import {
  type LayerId,
  allIndexRange,
  decodeIndexKey,
  decodeListingKey,
  isPrimaryIndexKey,
  listingRange,
  primaryKeyOf,
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
