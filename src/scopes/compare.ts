import type { FactKey, FactRecord, Term } from '../domain/fact.js';
import { type LayerId, factKeyOfPresence } from '../encoding/fact-keys.js';
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
  /** The key's place in index order (presenceKeyOf): diff rows and page cursors are ordered by it. */
  readonly presence: string;
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

/**
 * What a comparison spends, charged as it goes: raw index entries read, keys compared, and a
 * cooperative yield between keys (the engine's RunContext fits: the same budget and slices).
 */
export interface WalkBudget {
  read(entries: number): void;
  produced(keys: number): void;
  pace(): Promise<void>;
}

const UNMETERED: WalkBudget = { read: () => {}, produced: () => {}, pace: async () => {} };

export interface WalkOptions {
  /** Resume at this presence key (itself included): a page of a diff starts where the last one stopped. */
  readonly from?: string | null;
  /** How many more keys the consumer wants now: the size of the next read-ahead and multi-get. */
  readonly wanted?: () => number;
  readonly budget?: WalkBudget;
}

/**
 * The keys either side changed since the base, in index order (presence key), read from the
 * layers written since the base only: listed layers through their listing, root layers (which
 * have none: unrelated scopes) through one walk of the primary index. Every source resumes at
 * `from`, so a page costs what it reads, not what lies before it.
 */
export async function* walkChanged(reads: LayerSource, source: ScopeRecord, target: ScopeRecord, options: WalkOptions = {}): AsyncGenerator<ChangedKey> {
  const baseChain = baseChainOf(source, target);
  const inBase = new Set(baseChain);
  const chains = [source.chain, target.chain];
  const sideLayers = [...new Set([...source.chain, ...target.chain])].filter((l) => !inBase.has(l));
  const roots = new Set(sideLayers.filter((l) => isRootLayer(l, chains)));
  const budget = options.budget ?? UNMETERED;
  const wanted = () => Math.max(1, Math.min(MAX_BATCH, options.wanted?.() ?? MAX_BATCH));
  const from = options.from ?? null;
  const walkReads = { chunk: Math.min(256, wanted() + 1), read: (n: number) => budget.read(n) };
  const streams = sideLayers.filter((l) => !roots.has(l)).map((l) => reads.listedPresences(l, from, walkReads));
  if (roots.size > 0) streams.push(reads.rootPresences(roots, from, walkReads));
  const layers = [...new Set([...source.chain, ...target.chain, ...baseChain])];
  // Scopes forked at a past moment read some layers as they stood then (history-aware, one seek per changed entry).
  const times = { base: readTimes({ ...source, chain: baseChain }, undefined), source: readTimes(source, undefined), target: readTimes(target, undefined) };
  const past = times.base !== null || times.source !== null || times.target !== null;
  const resolve = async (batch: string[]): Promise<ChangedKey[]> => {
    const keys = batch.map(factKeyOfPresence);
    const identities = keys.flatMap((k) => [k, { ...k, negated: true }]);
    const entries = await reads.entriesIn(identities, layers);
    budget.read(keys.length * 2 * layers.length);
    budget.produced(keys.length);
    const states = async (fact: FactKey, e: (typeof entries)[number]): Promise<FactStates> =>
      past
        ? {
            base: recordOf(await reads.nearestAt(fact, baseChain, e, times.base)),
            source: recordOf(await reads.nearestAt(fact, source.chain, e, times.source)),
            target: recordOf(await reads.nearestAt(fact, target.chain, e, times.target)),
          }
        : { base: recordIn(baseChain, e), source: recordIn(source.chain, e), target: recordIn(target.chain, e) };
    const out: ChangedKey[] = [];
    for (const [j, key] of keys.entries()) {
      const positive = await states(identities[2 * j] as FactKey, entries[2 * j] as (typeof entries)[number]);
      const negative = await states(identities[2 * j + 1] as FactKey, entries[2 * j + 1] as (typeof entries)[number]);
      out.push({ predicate: key.predicate, args: key.args, presence: batch[j] as string, positive, negative });
    }
    return out;
  };
  let batch: string[] = [];
  for await (const presence of mergeSorted(streams)) {
    await budget.pace();
    batch.push(presence);
    if (batch.length < wanted()) continue;
    const resolved = await resolve(batch);
    batch = [];
    yield* resolved;
  }
  if (batch.length > 0) yield* await resolve(batch);
}

const MAX_BATCH = 500;

/** The union of ascending streams, ascending, each value once; every stream is closed when the consumer stops. */
async function* mergeSorted(streams: AsyncGenerator<string>[]): AsyncGenerator<string> {
  try {
    const heads = await Promise.all(streams.map(async (s) => (await s.next()).value as string | undefined));
    for (;;) {
      let least: string | undefined;
      for (const head of heads) if (head !== undefined && (least === undefined || head < least)) least = head;
      if (least === undefined) return;
      yield least;
      for (let i = 0; i < streams.length; i++) {
        if (heads[i] === least) heads[i] = (await (streams[i] as AsyncGenerator<string>).next()).value as string | undefined;
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}

/** The whole comparison (what a merge plans from), under the request's budget. */
export async function compareScopes(reads: LayerSource, source: ScopeRecord, target: ScopeRecord, budget?: WalkBudget): Promise<ScopeComparison> {
  const baseChain = baseChainOf(source, target);
  const changed: ChangedKey[] = [];
  let touchedInBase = 0;
  for await (const key of walkChanged(reads, source, target, budget ? { budget } : {})) {
    touchedInBase += (key.positive.base ? 1 : 0) + (key.negative.base ? 1 : 0);
    changed.push(key);
  }
  return { changed, untouchedInBase: reads.registry.countOf(baseChain) - touchedInBase, baseChain };
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
