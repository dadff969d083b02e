import { createHash } from 'node:crypto';
import { type StoredFact, factKeyId } from '../../domain/fact.js';
import type { SessionEntry } from '../../store/session-records.js';
import type { Contradiction } from './candidates.js';
import type { WindowEntry } from './selection.js';

/** Which sides of a contradiction made the window. */
export type ContradictionOutcome = 'positive' | 'negated' | 'both' | 'none';

export interface ContradictionReport {
  readonly positive: StoredFact;
  readonly negative: StoredFact;
  readonly included: ContradictionOutcome;
}

/** A context window: the selected entries, best first, and what was weighed to choose them. */
export interface ContextWindow {
  readonly windowId: string;
  readonly entries: readonly WindowEntry[];
  readonly totalFactsAvailable: number;
  readonly relevantRules: readonly string[];
  readonly contradictionsFound: number;
  readonly contradictions: readonly ContradictionReport[];
}

const hex = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * Digests of stored facts' entries, by the fact's args (the same array for every entry built from
 * one stored fact, which a cached pass keeps across windows), checked against what they digest:
 * each window digests its entries for its id, its session record and its diff.
 */
const storedDigests = new WeakMap<readonly unknown[], { readonly scope: string | null; readonly confidence: number; readonly createdAt: number | null; readonly digest: string }>();

/** Digest of what an entry shows besides its key and salience (salience moves with access counts). */
export function entryDigest(entry: WindowEntry): string {
  if (entry.provenance !== null) return digestOf(entry);
  const known = storedDigests.get(entry.args);
  if (known !== undefined && known.scope === entry.scope && known.confidence === entry.confidence && known.createdAt === entry.createdAt) return known.digest;
  const digest = digestOf(entry);
  storedDigests.set(entry.args, { scope: entry.scope, confidence: entry.confidence, createdAt: entry.createdAt, digest });
  return digest;
}

function digestOf(entry: WindowEntry): string {
  return hex(JSON.stringify([entry.scope, entry.confidence, entry.createdAt, entry.provenance]), 16);
}

/** `ctx_` + a hash of the entries as a set: the same content is the same id, whatever the order of equal ranks. */
export function windowIdOf(entries: readonly WindowEntry[]): string {
  const lines = entries.map((e) => `${e.identity}\t${entryDigest(e)}`).sort();
  return `ctx_${hex(lines.join('\n'), 24)}`;
}

export function assembleWindow(
  entries: readonly WindowEntry[],
  stats: { available: number; rules: readonly string[]; contradictionsFound: number; contradictions: readonly Contradiction[] },
): ContextWindow {
  const included = new Set(entries.filter((e) => e.provenance === null).map((e) => e.identity));
  const reports = stats.contradictions.map(({ positive, negative }) => ({ positive, negative, included: outcome(included, positive, negative) }));
  return {
    windowId: windowIdOf(entries),
    entries,
    totalFactsAvailable: stats.available,
    relevantRules: stats.rules,
    contradictionsFound: stats.contradictionsFound,
    contradictions: reports,
  };
}

function outcome(included: ReadonlySet<string>, positive: StoredFact, negative: StoredFact): ContradictionOutcome {
  const p = included.has(factKeyId(positive));
  const n = included.has(factKeyId(negative));
  return p && n ? 'both' : p ? 'positive' : n ? 'negated' : 'none';
}

/** What a session keeps of a window: enough to name removed entries and to notice changed ones. */
export function sessionEntries(window: ContextWindow): SessionEntry[] {
  return window.entries.map((e) => ({ predicate: e.predicate, args: e.args, negated: e.negated, scope: e.scope, digest: entryDigest(e) }));
}
