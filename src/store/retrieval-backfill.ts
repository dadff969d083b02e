import { allIndexRange, decodeIndexKey, isPrimaryIndexKey } from '../encoding/fact-keys.js';
import { RETRIEVAL_MARKER_KEY } from '../encoding/retrieval-keys.js';
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

/**
 * Whether a tenant's retrieval indexes cover every fact: a tenant written before they existed
 * (format 1 without them) is indexed once, in one transaction, the first time a retrieval needs it.
 */
export class RetrievalIndexState {
  private indexed = false;

  /** Forget what was seen: the keyspace was cleared or changed by another process. */
  reset(): void {
    this.indexed = false;
  }

  async ensure(current: KeyspaceReader, transaction: (work: (tx: TenantTransaction) => Promise<void>) => Promise<void>): Promise<void> {
    if (this.indexed) return;
    if ((await current.get(RETRIEVAL_MARKER_KEY)) === undefined) {
      await transaction(async (tx) => {
        if ((await current.get(RETRIEVAL_MARKER_KEY)) !== undefined) return;
        await backfillRetrievalIndex(current, tx);
      });
    }
    this.indexed = true;
  }
}
