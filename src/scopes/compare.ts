import type { FactKey, FactRecord, Term } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { nearestEntry } from '../store/layer-reader.js';
import { type ScopeRecord, readTimes } from '../store/scope-registry.js';
import type { EntryValue } from '../encoding/records.js';
import type { LayerSource } from '../store/tenant-reads.js';

/** The state of one fact (predicate + args + polarity) in the base and on both sides. */
export interface FactStates {
  readonly base: FactRecord | null;
  readonly source: FactRecord | null;
  readonly target: FactRecord | null;
}

/** One fact key (predicate + args) that either side changed since the base, with both polarities. */
export interface ChangedKey {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly positive: FactStates;
  readonly negative: FactStates;
}

export interface ScopeComparison {
  readonly changed: ChangedKey[];
  /** Facts the base holds that neither side touched: in both scopes, unchanged. */
  readonly untouchedInBase: number;
  readonly baseChain: readonly LayerId[];
}

/**
 * The base of a comparison: the source's chain when it was last merged into the target, else
 * the layers both chains share (the fork point and everything below it).
 */
export function baseChainOf(source: ScopeRecord, target: ScopeRecord): readonly LayerId[] {
  const merged = target.merges?.[source.name];
  if (merged) return merged;
  const common: LayerId[] = [];
  const s = source.chain;
  const t = target.chain;
  // A layer is shared only if both read it at the same time (a scope forked at a past moment reads its lower layers as they were).
  const st = readTimes(source, undefined);
  const tt = readTimes(target, undefined);
  const same = (i: number) => s[s.length - i] === t[t.length - i] && (st?.[s.length - i] ?? Infinity) === (tt?.[t.length - i] ?? Infinity);
  for (let i = 1; i <= Math.min(s.length, t.length) && same(i); i++) common.unshift(s[s.length - i] as LayerId);
  return common;
}

/** Read only the layers written since the base on each side: the cost follows the change, not the scope. */
export async function compareScopes(reads: LayerSource, source: ScopeRecord, target: ScopeRecord): Promise<ScopeComparison> {
  const registry = reads.registry;
  const baseChain = baseChainOf(source, target);
  const inBase = new Set(baseChain);
  const sideLayers = [...new Set([...source.chain, ...target.chain])].filter((l) => !inBase.has(l));
  const touched = new Map<string, FactKey>();
  for (const layer of sideLayers) {
    const isRoot = isRootLayer(layer, [source.chain, target.chain]);
    for await (const key of reads.factsInLayer(layer, isRoot)) touched.set(sortKeyOf(key), { predicate: key.predicate, args: key.args, negated: false });
  }
  const keys = [...touched.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, key]) => key);
  const layers = [...new Set([...source.chain, ...target.chain, ...baseChain])];
  const changed: ChangedKey[] = [];
  let touchedInBase = 0;
  // Scopes forked at a past moment read some layers as they stood then (history-aware, one seek per changed entry).
  const times = { base: readTimes({ ...source, chain: baseChain }, undefined), source: readTimes(source, undefined), target: readTimes(target, undefined) };
  const past = times.base !== null || times.source !== null || times.target !== null;
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const identities = chunk.flatMap((k) => [k, { ...k, negated: true }]);
    const entries = await reads.entriesIn(identities, layers);
    const states = async (fact: FactKey, e: (typeof entries)[number]): Promise<FactStates> =>
      past
        ? {
            base: recordOf(await reads.nearestAt(fact, baseChain, e, times.base)),
            source: recordOf(await reads.nearestAt(fact, source.chain, e, times.source)),
            target: recordOf(await reads.nearestAt(fact, target.chain, e, times.target)),
          }
        : { base: recordIn(baseChain, e), source: recordIn(source.chain, e), target: recordIn(target.chain, e) };
    for (const [j, key] of chunk.entries()) {
      const positive = await states(identities[2 * j] as FactKey, entries[2 * j] as (typeof entries)[number]);
      const negative = await states(identities[2 * j + 1] as FactKey, entries[2 * j + 1] as (typeof entries)[number]);
      touchedInBase += (positive.base ? 1 : 0) + (negative.base ? 1 : 0);
      changed.push({ predicate: key.predicate, args: key.args, positive, negative });
    }
  }
  return { changed, untouchedInBase: registry.countOf(baseChain) - touchedInBase, baseChain };
}

function recordOf(entry: EntryValue | undefined): FactRecord | null {
  return entry?.kind === 'record' ? entry.record : null;
}

function recordIn(chain: readonly LayerId[], entries: Parameters<typeof nearestEntry>[1]): FactRecord | null {
  const entry = nearestEntry(chain, entries);
  return entry?.kind === 'record' ? entry.record : null;
}

/** The order of changed keys (and of diff rows): a text of the predicate and args, polarity apart. */
export function sortKeyOf(key: { readonly predicate: string; readonly args: readonly Term[] }): string {
  return JSON.stringify([key.predicate, ...key.args]);
}

/** A layer is a root (unlisted) when it is the last of a chain that holds it. */
function isRootLayer(layer: LayerId, chains: readonly (readonly LayerId[])[]): boolean {
  return chains.some((c) => c[c.length - 1] === layer);
}

/** Two records state the same fact content (versions and times may differ). */
export function sameContent(a: FactRecord | null, b: FactRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.confidence === b.confidence &&
    a.ttl === b.ttl &&
    a.validFrom === b.validFrom &&
    a.validUntil === b.validUntil &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}
