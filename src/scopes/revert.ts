import type { FactKey, FactRecord } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { sizeOf } from '../store/fact-writes.js';
import type { TenantTransaction } from '../store/tenant-store.js';
import { sameContent } from './compare.js';
import { requireScope } from './lifecycle.js';

export interface RevertResult {
  readonly scope: string;
  readonly to: number;
  /** Facts written back as they were at `to` (they had changed or been retracted since). */
  readonly restored: number;
  /** Facts told since `to` and retracted by the revert. */
  readonly retracted: number;
  /** Facts changed since `to` that were back to their state then already. */
  readonly unchanged: number;
}

/**
 * Put a scope back as it stood at `to`, in the caller's transaction (one batch): every fact the
 * scope's history logged a version of since then is written with its state at `to` (a record,
 * or a tombstone where it did not hold). The writes are ordinary versions: they are logged, and
 * a revert can itself be reverted.
 */
export async function revertScope(tx: TenantTransaction, name: string, to: number, actor: string | null): Promise<RevertResult> {
  const scope = requireScope(tx.scopes, name);
  const keys = await tx.changedSince(scope, to);
  const facts: FactKey[] = keys.flatMap((key) => [key, { ...key, negated: true }]);
  let restored = 0;
  let retracted = 0;
  let unchanged = 0;
  const top = scope.chain[0] as LayerId;
  for (let i = 0; i < facts.length; i += 500) {
    const chunk = facts.slice(i, i + 500);
    const [then, now] = await Promise.all([tx.statesAt(scope, chunk, to), tx.statesAt(scope, chunk, undefined)]);
    chunk.forEach((fact, j) => {
      const past = recordOf(then[j]);
      const current = recordOf(now[j]);
      if (sameContent(past, current) && (past === null || past.expiresAt === current?.expiresAt)) {
        if (past !== null) unchanged++;
        return;
      }
      if (past === null) {
        const removed = current as FactRecord;
        tx.scopes.adjustCount(top, -1);
        tx.scopes.adjustBytes(-sizeOf(fact, removed));
        tx.removeFact(fact, scope.chain, actor, removed.version + 1);
        retracted++;
        return;
      }
      const record: FactRecord = { ...past, version: (current?.version ?? 0) + 1, createdAt: current?.createdAt ?? tx.now, updatedAt: tx.now };
      if (current === null) tx.scopes.adjustCount(top, 1);
      tx.scopes.adjustBytes(sizeOf(fact, record) - (current === null ? 0 : sizeOf(fact, current)));
      tx.putFact(fact, scope.chain, record, { vectorFrom: scope.chain }, actor);
      restored++;
    });
  }
  if (restored + retracted > 0) {
    tx.event({ op: 'scope_reverted', actor, target: name, outcome: 'ok', scope: name, details: { to, restored, retracted } });
  }
  return { scope: name, to, restored, retracted, unchanged };
}

function recordOf(entry: { kind: 'record'; record: FactRecord } | { kind: 'tombstone' } | undefined): FactRecord | null {
  return entry?.kind === 'record' ? entry.record : null;
}
