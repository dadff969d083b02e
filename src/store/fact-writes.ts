import { ConflictError } from '../domain/errors.js';
import {
  type FactInput,
  type FactKey,
  type FactPattern,
  type FactRecord,
  type StoredFact,
  type Term,
  factKeyId,
  isVisibleAt,
} from '../domain/fact.js';
import { type EncodedFactKey, type LayerId, encodeFactKey, encodedPrimaryKey, primaryKeyOf } from '../encoding/fact-keys.js';
import { decodeEntryValue, encodeRecord } from '../encoding/records.js';
import { SEP } from '../encoding/term-codec.js';
import type { EventDraft } from './event-log.js';
import { type ScopeView, nearestAt } from './fact-reader.js';
import { readTimes } from './scope-registry.js';
import { nearestEntry } from './layer-reader.js';
import type { KeyspaceReader } from './level-types.js';
import type { TenantTransaction } from './transaction.js';

/** Store facts (upserts), all or nothing. Telling p while NOT p holds in that scope is a conflict. */
export async function tellFacts(
  tx: TenantTransaction,
  keyspace: KeyspaceReader,
  facts: readonly FactInput[],
  actor: string | null,
  /** False when the fact (by presence key) cannot exist yet: its current state is not read. */
  mayExist: (presence: string) => boolean = () => true,
  now = tx.now,
  /** Records written earlier in the same transaction (by scope, presence key and polarity), shared by coalesced tells. */
  pending = new Map<string, FactRecord | null>(),
): Promise<StoredFact[]> {
  const registry = tx.scopes;
  const scopes = facts.map((f) => registry.get(f.scope) ?? registry.createRoot(f.scope, now));
  const chains = scopes.map((s) => s.chain);
  // Each fact's terms are encoded once: presence key, lookup keys and index keys all derive from it.
  const encoded = facts.map(encodeFactKey);
  const read = encoded.map((e) => mayExist(e.presence));
  // A tell of new facts only (the key filter rules each one out) has nothing to read: no lookup, no wait.
  const existing = read.includes(true) ? await lookup(keyspace, facts, encoded, chains, read, scopes.map((s) => readTimes(s, undefined))) : nothingStored(facts.length);
  const undo: [string, FactRecord | null | undefined][] = [];
  const values = new RecordValues();
  try {
    const stored = facts.map((input, i): StoredFact => {
    const chain = chains[i] as readonly LayerId[];
    const key = encoded[i] as EncodedFactKey;
    // Scope names never contain SEP; the presence key names the fact whatever its polarity.
    const id = input.scope + SEP + key.presence + SEP;
    const sameId = id + (input.negated ? '1' : '0');
    const oppositeId = id + (input.negated ? '0' : '1');
    const contradicting = pending.has(oppositeId) ? pending.get(oppositeId) : existing.opposite[i];
    if (contradicting && isVisibleAt(contradicting, now)) throw contradiction(input);
    const previous = pending.has(sameId) ? pending.get(sameId) : existing.same[i];
    if (!previous) registry.adjustCount(chain[0] as LayerId, 1);
    const record = recordFor(input, previous ?? null, now);
    const value = values.of(record);
    // Quota bytes: identity key and record, as one index stores them (the key's encoding reused).
    const keyBytes = Buffer.byteLength(encodedPrimaryKey(key, input.negated, 0));
    registry.adjustBytes(keyBytes + Buffer.byteLength(value) - (previous ? keyBytes + Buffer.byteLength(encodeRecord(previous)) : 0));
    undo.push([sameId, pending.get(sameId)]);
    pending.set(sameId, record);
    // A vector not sent is kept from the version replaced (if that version is alive in this chain).
    const vector = input.embedding !== undefined ? { embedding: input.embedding } : { vectorFrom: previous ? chain : [] };
    tx.putTold(key, input, chain, record, value, vector, actor);
    return { predicate: input.predicate, args: input.args, negated: input.negated, scope: input.scope, ...record };
    });
    tx.event(factEvent('told', actor, stored));
    return stored;
  } catch (error) {
    for (const [id, before] of undo.reverse()) {
      if (before === undefined) pending.delete(id);
      else pending.set(id, before);
    }
    throw error;
  }
}

/** Retract the facts matching a pattern in one scope, or in every scope where they are visible. */
export async function retractFacts(
  tx: TenantTransaction,
  scope: string | null,
  pattern: FactPattern,
  accepts: (args: readonly Term[]) => boolean,
  actor: string | null,
): Promise<StoredFact[]> {
  const registry = tx.scopes;
  const targets = scope === null ? registry.all() : [registry.get(scope)].filter((s) => s !== undefined);
  const removed: StoredFact[] = [];
  for (const target of targets) {
    const view: ScopeView = { kind: 'scope', scope: target };
    for await (const { fact } of tx.match(view, pattern, { now: tx.now, includeInvisible: true })) {
      if (!accepts(fact.args)) continue;
      if (isVisibleAt(fact, tx.now)) removed.push(fact);
      registry.adjustCount(target.chain[0] as LayerId, -1);
      registry.adjustBytes(-sizeOf(fact, fact));
      tx.removeFact(fact, target.chain, actor, fact.version + 1);
    }
  }
  if (removed.length > 0) tx.event(factEvent('retracted', actor, removed));
  await forgetAccessCounts(tx, removed, scope === null);
  return removed;
}

/**
 * A fact gone from every scope takes its access count with it (context windows count inclusions
 * per fact, whatever the scope). Only counted facts are looked at: one multi-get for the counts,
 * one for the other scopes of those that have one.
 */
async function forgetAccessCounts(tx: TenantTransaction, removed: readonly StoredFact[], fromEveryScope: boolean): Promise<void> {
  const byIdentity = new Map<string, { key: FactKey; scopes: Set<string> }>();
  for (const fact of removed) {
    const identity = factKeyId(fact);
    const entry = byIdentity.get(identity) ?? { key: { predicate: fact.predicate, args: fact.args, negated: fact.negated }, scopes: new Set<string>() };
    entry.scopes.add(fact.scope);
    byIdentity.set(identity, entry);
  }
  if (byIdentity.size === 0) return;
  const counted = await tx.accessCountsOf([...byIdentity.keys()]);
  if (counted.size === 0) return;
  const candidates = [...counted.keys()].map((identity) => ({ identity, ...(byIdentity.get(identity) as { key: FactKey; scopes: Set<string> }) }));
  if (fromEveryScope) return tx.deleteAccess(candidates.map((c) => c.identity));
  const scopes = tx.scopes.all();
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  const entries = await tx.entriesIn(candidates.map((c) => c.key), layers);
  const gone = candidates.filter((c, i) =>
    scopes.every((s) => c.scopes.has(s.name) || nearestEntry(s.chain, entries[i] ?? new Map())?.kind !== 'record'),
  );
  tx.deleteAccess(gone.map((c) => c.identity));
}

/** Per fact, the nearest record of the fact and of its opposite polarity (null: none). */
interface Existing {
  readonly same: readonly (FactRecord | null)[];
  readonly opposite: readonly (FactRecord | null)[];
}

function nothingStored(count: number): Existing {
  const none = new Array<FactRecord | null>(count).fill(null);
  return { same: none, opposite: none };
}

/**
 * The nearest record of each fact and of its opposite polarity, in one multi-get; facts the
 * tenant's key filter says cannot exist are not read at all.
 */
async function lookup(
  keyspace: KeyspaceReader,
  facts: readonly FactInput[],
  encoded: readonly EncodedFactKey[],
  chains: readonly (readonly LayerId[])[],
  /** Per fact, whether it may be stored (false: the key filter rules it out, it is not read). */
  read: readonly boolean[],
  /** Per fact, the times its scope reads its layers at (null: now; see readTimes). */
  times: readonly (readonly number[] | null)[],
): Promise<Existing> {
  const keys: string[] = [];
  facts.forEach((f, i) => {
    if (!read[i]) return;
    const e = encoded[i] as EncodedFactKey;
    for (const layer of chains[i] as readonly LayerId[]) {
      keys.push(encodedPrimaryKey(e, f.negated, layer), encodedPrimaryKey(e, !f.negated, layer));
    }
  });
  const values = await keyspace.getMany(keys);
  const same: (FactRecord | null)[] = [];
  const opposite: (FactRecord | null)[] = [];
  let at = 0;
  const past: number[] = [];
  facts.forEach((_, i) => {
    let s: FactRecord | null | undefined;
    let o: FactRecord | null | undefined;
    if (read[i] && times[i] !== null) past.push(i, at);
    for (let d = 0; read[i] && d < (chains[i] as readonly LayerId[]).length; d++, at += 2) {
      if (s === undefined) s = recordOf(values[at]);
      if (o === undefined) o = recordOf(values[at + 1]);
    }
    same.push(s ?? null);
    opposite.push(o ?? null);
  });
  // A scope forked at a past moment: its lower layers are read as they stood then.
  for (let p = 0; p < past.length; p += 2) {
    const i = past[p] as number;
    const chain = chains[i] as readonly LayerId[];
    for (const [k, negated] of [[0, false], [1, true]] as const) {
      const versions = new Map<LayerId, string>();
      chain.forEach((layer, d) => {
        const raw = values[(past[p + 1] as number) + 2 * d + k];
        if (raw !== undefined) versions.set(layer, raw);
      });
      const key = { predicate: facts[i]!.predicate, args: facts[i]!.args, negated: negated !== facts[i]!.negated };
      const entry = await nearestAt(keyspace, key, chain, versions, times[i] ?? null);
      (k === 0 ? same : opposite)[i] = entry?.kind === 'record' ? entry.record : null;
    }
  }
  return { same, opposite };
}

function recordOf(raw: string | undefined): FactRecord | null | undefined {
  if (raw === undefined) return undefined;
  const entry = decodeEntryValue(raw);
  return entry.kind === 'record' ? entry.record : null;
}

/**
 * Encoded record values of one tell: consecutive facts with equal records (a bulk tell of new
 * facts: same version, times, confidence, no ttl, validity or metadata) share one encoding.
 */
class RecordValues {
  private last: FactRecord | null = null;
  private value = '';

  of(record: FactRecord): string {
    const last = this.last;
    if (
      last === null ||
      record.metadata !== null ||
      last.metadata !== null ||
      last.version !== record.version ||
      last.createdAt !== record.createdAt ||
      last.updatedAt !== record.updatedAt ||
      last.confidence !== record.confidence ||
      last.ttl !== record.ttl ||
      last.expiresAt !== record.expiresAt ||
      last.validFrom !== record.validFrom ||
      last.validUntil !== record.validUntil
    ) {
      this.value = encodeRecord(record);
      this.last = record;
    }
    return this.value;
  }
}

/** What a fact weighs for its quota: its identity key and record value, as one index stores them. */
export function sizeOf(key: FactKey, record: FactRecord): number {
  return Buffer.byteLength(primaryKeyOf(key, 0)) + Buffer.byteLength(encodeRecord(record));
}

/** The record a tell writes over `previous` (the version it replaces, if any). */
export function recordFor(input: FactInput, previous: FactRecord | null, now: number): FactRecord {
  const alive = previous !== null && isVisibleAt(previous, now);
  return {
    version: previous ? previous.version + 1 : 1,
    createdAt: alive && previous ? previous.createdAt : now,
    updatedAt: now,
    confidence: input.confidence,
    ttl: input.ttl,
    expiresAt: input.ttl === null ? null : now + input.ttl,
    validFrom: input.validFrom,
    validUntil: input.validUntil,
    metadata: input.metadata,
  };
}

/** The event of a fact write: which facts (keys and versions, not their metadata) in which scopes. */
function factEvent(op: 'told' | 'retracted', actor: string | null, facts: readonly StoredFact[]): EventDraft {
  const predicates = [...new Set(facts.map((f) => f.predicate))];
  const scopes = [...new Set(facts.map((f) => f.scope))];
  return {
    op,
    actor,
    target: predicates.slice(0, 10).join(',') + (predicates.length > 10 ? ',…' : ''),
    outcome: 'ok',
    scope: scopes.length === 1 ? (scopes[0] as string) : null,
    details: {
      count: facts.length,
      facts: facts.map((f) => ({ predicate: f.predicate, args: f.args, negated: f.negated, scope: f.scope, version: f.version })),
    },
  };
}

function contradiction(input: FactInput): ConflictError {
  const polarity = input.negated ? 'holds' : 'is negated';
  return new ConflictError(`contradiction: ${input.predicate}/${input.args.length} ${polarity} in scope '${input.scope}'`, {
    predicate: input.predicate,
    args: input.args,
    negated: input.negated,
    scope: input.scope,
  });
}

/**
 * Facts retracted earlier in the same transaction, for the tells after them (a client transaction
 * that retracts NOT p then tells p): they see those facts gone, as the committed state will be.
 */
export function markRetracted(pending: Map<string, FactRecord | null>, removed: readonly StoredFact[]): void {
  for (const fact of removed) pending.set(fact.scope + SEP + encodeFactKey(fact).presence + SEP + (fact.negated ? '1' : '0'), null);
}
