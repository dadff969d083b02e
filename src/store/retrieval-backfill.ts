import { allIndexRange, decodeIndexKey, isPrimaryIndexKey } from '../encoding/fact-keys.js';
import { decodeEntryValue } from '../encoding/records.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import type { TenantTransaction } from './transaction.js';

/**
 * Index every stored fact of a tenant written before the retrieval indexes existed (no marker),
 * in the transaction that then sets the marker: the tenant is indexed once, whole or not at all.
 */
export async function backfillRetrievalIndex(current: KeyspaceReader, tx: TenantTransaction): Promise<void> {
  for await (const [raw, value] of scanRange(current, allIndexRange())) {
    if (!isPrimaryIndexKey(raw)) continue;
    const entry = decodeEntryValue(value, raw);
    if (entry.kind === 'record') {
      const { layer, ...key } = decodeIndexKey(raw);
      tx.indexStored(key, layer, entry.record);
    }
  }
  tx.markRetrievalIndexed();
}
