import type { FactKey, FactRecord } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { sizeOf } from './fact-writes.js';
import type { RuleRecord } from './rule-records.js';
import type { SessionRecord } from './session-records.js';
import type { TenantTransaction } from './transaction.js';

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
