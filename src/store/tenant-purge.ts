import { type FactKey, type Term, factKeyId } from '../domain/fact.js';
import { eventRange } from '../encoding/control-keys.js';
import { type LayerId, allIndexRange, decodeIndexKey, isPrimaryIndexKey } from '../encoding/fact-keys.js';
import { allHistoryRange, decodeHistoryKey } from '../encoding/history-keys.js';
import { type EntryValue, decodeEntryValue } from '../encoding/records.js';
import { decodeEvent } from './event-log.js';
import { sizeOf } from './fact-writes.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import type { TenantTransaction } from './transaction.js';

/** What a purge erases: a value that appears as any argument, optionally only in facts of one predicate. */
export interface PurgeMatch {
  readonly value: Term;
  readonly predicate?: string;
}

export interface PurgeCounts {
  /** Fact entries (records and tombstones) erased, counted once per layer that held them. */
  facts: number;
  history: number;
  events: number;
  /** Context sessions rewritten without the entries of those facts. */
  sessions: number;
  accessCounts: number;
}

const sameTerm = (a: Term, b: Term) => a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));

export function mentions(key: FactKey, match: PurgeMatch): boolean {
  if (match.predicate !== undefined && key.predicate !== match.predicate) return false;
  return key.args.some((arg) => sameTerm(arg, match.value));
}

/**
 * Erase, in the caller's transaction, every trace of the facts whose args contain the value: their
 * entries in every layer (live or retired, records and tombstones: one scan of the primary index
 * finds them all), their retrieval data, their history, their access counts and session entries,
 * and every event that mentions the value anywhere (a packed fact event is decoded first; the
 * whole event goes, since an event is one record). Counts and bytes of live layers are adjusted.
 * One full scan of the tenant's index, history and log: an erasure is rare and must be complete.
 */
export async function purgeTenant(tx: TenantTransaction, keyspace: KeyspaceReader, match: PurgeMatch): Promise<PurgeCounts> {
  const counts: PurgeCounts = { facts: 0, history: 0, events: 0, sessions: 0, accessCounts: 0 };
  const byFact = new Map<string, { key: FactKey; entries: Map<LayerId, EntryValue> }>();
  const identities = new Set<string>();
  for await (const [raw, value] of scanRange(keyspace, allIndexRange())) {
    if (!isPrimaryIndexKey(raw)) continue;
    const entry = decodeIndexKey(raw);
    if (!mentions(entry, match)) continue;
    const key: FactKey = { predicate: entry.predicate, args: entry.args, negated: entry.negated };
    tx.eraseEntry(key, entry.layer);
    counts.facts++;
    const id = factKeyId(key);
    const found = byFact.get(id) ?? { key, entries: new Map<LayerId, EntryValue>() };
    found.entries.set(entry.layer, decodeEntryValue(value, raw));
    byFact.set(id, found);
  }
  adjustCounts(tx, byFact.values());
  for await (const [raw] of scanRange(keyspace, allHistoryRange())) {
    if (!mentions(decodeHistoryKey(raw), match)) continue;
    tx.eraseKey(raw);
    counts.history++;
  }
  for await (const [raw, value] of scanRange(keyspace, eventRange(0))) {
    // Decoded first: a fact event's value is packed (its terms in tables), not searchable as it is.
    const event = decodeEvent(value, raw);
    if (!eventMentions([event.target, event.scope ?? null, event.details ?? null], match.value, false)) continue;
    tx.eraseKey(raw);
    counts.events++;
  }
  for await (const [id, session] of tx.sessions()) {
    const kept = session.entries.filter((e) => !mentions(e, match));
    if (kept.length === session.entries.length) continue;
    tx.putSession(id, { ...session, entries: kept });
    counts.sessions++;
  }
  for await (const [identity] of tx.accessCounts()) {
    const [predicate, negated, ...args] = JSON.parse(identity) as [string, number, ...Term[]];
    if (!mentions({ predicate, negated: negated === 1, args }, match)) continue;
    identities.add(identity);
  }
  tx.deleteAccess([...identities]);
  counts.accessCounts = identities.size;
  return counts;
}

/**
 * Whether an event mentions the value: a string value anywhere in its target, scope or details, also
 * inside a longer text (a target like `likes(user-42, …)`); any other value (a number, a boolean,
 * null) only as an element of an `args` array, so that `42` does not match every event numbered or
 * sized 42. Sequence numbers and times are never looked at.
 */
function eventMentions(node: unknown, value: Term, inArgs: boolean): boolean {
  if (typeof value === 'string' && typeof node === 'string') return node.includes(value);
  if (Array.isArray(node)) return node.some((item) => (inArgs && typeof value !== 'string' && sameTerm(item as Term, value)) || eventMentions(item, value, false));
  if (node !== null && typeof node === 'object') return Object.entries(node).some(([name, item]) => eventMentions(item, value, name === 'args'));
  return false;
}

/**
 * Layer counts and stored bytes are deltas: an entry in a layer added what it shows minus what the
 * layers below it in its chain showed (an upsert in a fork adds bytes, not a fact; a tombstone
 * takes one away). Erasing every entry of a fact takes back each entry's own delta. Layers no scope
 * uses (retired, awaiting collection) have no count any more.
 */
function adjustCounts(tx: TenantTransaction, facts: Iterable<{ key: FactKey; entries: Map<LayerId, EntryValue> }>): void {
  const below = new Map<LayerId, readonly LayerId[]>();
  for (const scope of tx.scopes.all()) scope.chain.forEach((layer, i) => below.set(layer, scope.chain.slice(i + 1)));
  for (const { key, entries } of facts) {
    for (const [layer, entry] of entries) {
      const under = below.get(layer);
      if (under === undefined) continue;
      const lower = under.map((l) => entries.get(l)).find((e) => e !== undefined);
      const shown = (e: EntryValue | undefined) => (e?.kind === 'record' ? 1 : 0);
      const size = (e: EntryValue | undefined) => (e?.kind === 'record' ? sizeOf(key, e.record) : 0);
      tx.scopes.adjustCount(layer, shown(lower) - shown(entry));
      tx.scopes.adjustBytes(size(lower) - size(entry));
    }
  }
}
