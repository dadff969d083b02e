import { type FactKey, type FactPattern, type FactRecord, type StoredFact, type Term, isVisibleAt, isVisibleAtTimes, storedFact, termsEqual } from '../domain/fact.js';
import { decodeHistoryValue, historyAtRange } from '../encoding/history-keys.js';
import { type LayerId, allIndexRange, encodeLayer, decodeIndexKey, groupOfIndexKey, isPrimaryIndexKey, rangeFor } from '../encoding/fact-keys.js';
import { type EntryValue, decodeEntryValue, writtenAt } from '../encoding/records.js';
import { CorruptionError } from '../domain/errors.js';
import { SEP } from '../encoding/term-codec.js';
import { type KeyspaceReader, countRange } from './level-types.js';
import { cachedRows, cachedRowsNow } from './cached-rows.js';
import { MAX_CACHED_RANGE_ROWS, type PinnedRanges, type Row } from './range-cache.js';
import { type ScopeRecord, readTimes } from './scope-registry.js';

/** Which scopes a read sees: one scope (through its chain of layers) or every scope of the tenant. */
export type ScopeView =
  | { readonly kind: 'scope'; readonly scope: ScopeRecord }
  | { readonly kind: 'all'; readonly scopes: readonly ScopeRecord[] };

export interface MatchOptions {
  readonly now: number;
  /** Also yield expired and not-yet-valid facts (retraction cleans them up too). */
  readonly includeInvisible?: boolean;
  /** Resume a paged read at this fact group (an index key without its layer). */
  readonly fromGroup?: string;
  /**
   * Transaction time: the facts as the tenant stood at this moment (epoch ms), from the history
   * (`now` should then be the same moment: expiry is judged then).
   */
  readonly asOf?: number;
  /** Valid time: judge validFrom/validUntil at this moment instead of `now`. */
  readonly validAt?: number;
}

/** True when a read must go through the history: a time asked for, or a scope forked at a past moment. */
export function readsThePast(view: ScopeView, options: MatchOptions): boolean {
  if (options.asOf !== undefined || options.validAt !== undefined) return true;
  return view.kind === 'scope' ? view.scope.cutoffs !== undefined : view.scopes.some((s) => s.cutoffs !== undefined);
}

export interface MatchedFact {
  readonly fact: StoredFact;
  /** Position of the fact in the index order; a cursor resumes here. */
  readonly group: string;
}

/**
 * Stream the facts matching a pattern as one range scan of the best index rotation. The versions
 * of a fact in different layers are adjacent keys; for each scope of the view the nearest layer
 * of its chain decides (a tombstone hides the facts of the layers below it).
 */
export async function* matchFacts(
  sub: KeyspaceReader,
  view: ScopeView,
  pattern: FactPattern,
  options: MatchOptions,
  cached: PinnedRanges | null = null,
): AsyncGenerator<MatchedFact> {
  const range = rangeFor(pattern.predicate, pattern.args);
  const gte = options.fromGroup !== undefined && options.fromGroup > range.gte ? options.fromGroup : range.gte;
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  if (readsThePast(view, options)) {
    const accept = (key: FactKey) => key.negated === pattern.negated && residualMatches(key.args, pattern, range.residual);
    // The index rows as they are now (cached or read), each resolved at its time: most rows of a past read are older than it.
    const rows = cached === null ? undefined : await cachedRows(sub, cached, gte, range.lt);
    yield* groupsAt(sub, scopes, { gte, lt: range.lt }, options, accept, () => true, rows);
    return;
  }
  const resolver = resolverOf(view, pattern, range.residual, options);
  const hit = cached === null ? undefined : await cachedRows(sub, cached, gte, range.lt);
  if (hit !== undefined) {
    yield* resolver.all(hit);
    return;
  }
  // Chunks straight from the iterator (one async step per chunk, not per row): rows of a group are adjacent.
  // A small range read whole is kept for the readers of the same state (range-cache.ts).
  let kept: (readonly [string, string])[] | null = cached === null ? null : [];
  const iterator = sub.iterator({ gte, lt: range.lt });
  try {
    for (let size = 64; ; size = Math.min(size * 4, 4096)) {
      const entries = (await iterator.nextv(size)) as [string, string][];
      if (entries.length === 0) break;
      if (kept !== null) kept = kept.length + entries.length <= MAX_CACHED_RANGE_ROWS ? kept.concat(entries) : null;
      const ready: MatchedFact[] = [];
      resolver.take(entries, ready);
      yield* ready;
    }
    const last: MatchedFact[] = [];
    resolver.finish(last);
    if (kept !== null) cached?.put(gte, range.lt, kept);
    yield* last;
  } finally {
    await iterator.close();
  }
}

/**
 * The facts matching a pattern when the range cache holds their rows (range-cache.ts), with no
 * await: the hot path of a point `/ask`. undefined: the rows must be read (matchFacts).
 */
export function matchCachedNow(view: ScopeView, pattern: FactPattern, options: MatchOptions, cached: PinnedRanges | null): MatchedFact[] | undefined {
  if (cached === null || readsThePast(view, options)) return undefined;
  const range = rangeFor(pattern.predicate, pattern.args);
  const gte = options.fromGroup !== undefined && options.fromGroup > range.gte ? options.fromGroup : range.gte;
  const hit = cachedRowsNow(cached, gte, range.lt);
  return typeof hit === 'string' ? undefined : resolverOf(view, pattern, range.residual, options).all(hit);
}

/**
 * Folds index rows into matched facts: the versions of a fact in different layers are adjacent
 * rows, and for each scope of the view the nearest layer of its chain decides.
 */
function resolverOf(view: ScopeView, pattern: FactPattern, residual: readonly number[], options: MatchOptions) {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const resolve = (group: string, firstKey: string, versions: ReadonlyMap<LayerId, string>, out: MatchedFact[]): void => {
    const key = decodeIndexKey(firstKey);
    if (key.negated !== pattern.negated || !residualMatches(key.args, pattern, residual)) return;
    for (const scope of scopes) {
      const found = nearest(scope.chain, versions, group);
      if (found === undefined || found.kind !== 'record') continue;
      if (!options.includeInvisible && !isVisibleAt(found.record, options.now)) continue;
      out.push({ fact: storedFact(key, scope.name, found.record), group });
    }
  };
  let group: string | null = null;
  let firstKey = '';
  let versions = new Map<LayerId, string>();
  const take = (entries: readonly (readonly [string, string])[], out: MatchedFact[]): void => {
    for (const [raw, value] of entries) {
      const rawGroup = groupOfIndexKey(raw);
      if (rawGroup !== group) {
        if (group !== null) resolve(group, firstKey, versions, out);
        group = rawGroup;
        firstKey = raw;
        versions = new Map();
      }
      versions.set(Number.parseInt(raw.slice(rawGroup.length + 1), 36), value);
    }
  };
  /** The last group, once every row has been taken. */
  const finish = (out: MatchedFact[]): void => {
    if (group !== null) resolve(group, firstKey, versions, out);
    group = null;
  };
  const all = (entries: readonly Row[]): MatchedFact[] => {
    const out: MatchedFact[] = [];
    take(entries, out);
    finish(out);
    return out;
  };
  return { take, finish, all };
}

function nearest(chain: readonly LayerId[], versions: ReadonlyMap<LayerId, string>, group: string): EntryValue | undefined {
  for (const layer of chain) {
    const raw = versions.get(layer);
    if (raw === undefined) continue;
    try {
      return decodeEntryValue(raw);
    } catch (error) {
      // The key is built only for the error: this is the hottest loop of every read.
      throw error instanceof CorruptionError ? new CorruptionError('fact record', group + SEP + encodeLayer(layer), error) : error;
    }
  }
  return undefined;
}

function residualMatches(args: readonly Term[], pattern: FactPattern, residual: readonly number[]): boolean {
  for (const i of residual) {
    const arg = args[i];
    const bound = pattern.args[i];
    if (arg === undefined || bound === undefined || !termsEqual(arg, bound)) return false;
  }
  return true;
}

/** Estimated number of index entries for a pattern, capped: what a planner needs to order joins. */
export function estimateFacts(sub: KeyspaceReader, pattern: FactPattern, cached: PinnedRanges | null = null, cap = 1000): Promise<number> {
  const range = rangeFor(pattern.predicate, pattern.args);
  // The same count as the keys of the range would give: a cached range is the whole range.
  if (cached === null) return countRange(sub, range, cap);
  return cachedRows(sub, cached, range.gte, range.lt).then((rows) => (rows === undefined ? countRange(sub, range, cap) : Math.min(rows.length, cap)));
}

/**
 * Stream every fact of a view, whatever its predicate: one scan of the tenant's index reading only
 * the position-0 entries (one per fact and layer), in index order, so a fact and its negation
 * are adjacent. Over all scopes a fact held by several scopes is yielded once per scope, adjacently.
 */
export async function* allFacts(sub: KeyspaceReader, view: ScopeView, options: MatchOptions): AsyncGenerator<MatchedFact> {
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  if (readsThePast(view, options)) {
    yield* groupsAt(sub, scopes, allIndexRange(), options, () => true, isPrimaryIndexKey);
    return;
  }
  let group: string | null = null;
  let firstKey = '';
  let versions = new Map<LayerId, string>();
  // Batches straight from the iterator: a whole-tenant scan is hot enough that a generator step per index entry shows.
  const iterator = sub.iterator(allIndexRange());
  try {
    for (let entries = await iterator.nextv(1024); entries.length > 0; entries = await iterator.nextv(4096)) {
      for (const [raw, value] of entries as [string, string][]) {
        if (!isPrimaryIndexKey(raw)) continue;
        const rawGroup = groupOfIndexKey(raw);
        if (rawGroup !== group) {
          if (group !== null) yield* versionsInScopes(firstKey, group, versions, scopes, options);
          group = rawGroup;
          firstKey = raw;
          versions = new Map();
        }
        versions.set(Number.parseInt(raw.slice(rawGroup.length + 1), 36), value);
      }
    }
  } finally {
    await iterator.close();
  }
  if (group !== null) yield* versionsInScopes(firstKey, group, versions, scopes, options);
}

function* versionsInScopes(
  firstKey: string,
  group: string,
  versions: ReadonlyMap<LayerId, string>,
  scopes: readonly ScopeRecord[],
  options: MatchOptions,
): Generator<MatchedFact> {
  const key = decodeIndexKey(firstKey);
  for (const scope of scopes) {
    const found = nearest(scope.chain, versions, group);
    if (found === undefined || found.kind !== 'record') continue;
    if (!options.includeInvisible && !isVisibleAt(found.record, options.now)) continue;
    yield { fact: storedFact(key, scope.name, found.record), group };
  }
}

/**
 * The read of a past moment (or of a scope forked at one): the index scanned as for a current read,
 * each fact resolved per scope at the time its layers are read (readTimes). An entry written after
 * that time is replaced by its version then, one seek into the history; retractions leave dated
 * tombstones, so a fact retracted since is still found in the index. Not cached: the range cache
 * holds current states.
 */
async function* groupsAt(
  sub: KeyspaceReader,
  scopes: readonly ScopeRecord[],
  range: { gte: string; lt: string },
  options: MatchOptions,
  accept: (key: FactKey) => boolean,
  keep: (raw: string) => boolean,
  rows?: readonly Row[],
): AsyncGenerator<MatchedFact> {
  const times = scopes.map((scope) => readTimes(scope, options.asOf));
  const now = options.asOf ?? options.now;
  const validAt = options.validAt ?? now;
  let group: string | null = null;
  let firstKey = '';
  let versions = new Map<LayerId, string>();
  const resolve = async (out: MatchedFact[]): Promise<void> => {
    if (group === null) return;
    const key = decodeIndexKey(firstKey);
    if (!accept(key)) return;
    for (const [s, scope] of scopes.entries()) {
      const found = await nearestAt(sub, key, scope.chain, versions, times[s] ?? null, group);
      if (found === undefined || found.kind !== 'record') continue;
      if (!options.includeInvisible && !isVisibleAtTimes(found.record, now, validAt)) continue;
      out.push({ fact: storedFact(key, scope.name, found.record), group });
    }
  };
  const take = async (entries: readonly Row[]): Promise<MatchedFact[]> => {
    const ready: MatchedFact[] = [];
    for (const [raw, value] of entries) {
      if (!keep(raw)) continue;
      const rawGroup = groupOfIndexKey(raw);
      if (rawGroup !== group) {
        await resolve(ready);
        group = rawGroup;
        firstKey = raw;
        versions = new Map();
      }
      versions.set(Number.parseInt(raw.slice(rawGroup.length + 1), 36), value);
    }
    return ready;
  };
  if (rows !== undefined) {
    const ready = await take(rows);
    await resolve(ready);
    yield* ready;
    return;
  }
  const iterator = sub.iterator(range);
  try {
    for (let size = 64; ; size = Math.min(size * 4, 4096)) {
      const entries = (await iterator.nextv(size)) as [string, string][];
      if (entries.length === 0) break;
      yield* await take(entries);
    }
    const last: MatchedFact[] = [];
    await resolve(last);
    yield* last;
  } finally {
    await iterator.close();
  }
}

/**
 * The entry that decided a fact in a chain at the given per-layer times (null: now): the nearest
 * layer that held an entry then. A layer's current entry written after its time gives way to its
 * history's version at that time; a layer with no version then does not count.
 */
export async function nearestAt(
  sub: KeyspaceReader,
  key: FactKey,
  chain: readonly LayerId[],
  versions: ReadonlyMap<LayerId, string | EntryValue>,
  times: readonly number[] | null,
  group = '',
): Promise<EntryValue | undefined> {
  for (const [i, layer] of chain.entries()) {
    const raw = versions.get(layer);
    if (raw === undefined) continue;
    let entry: EntryValue;
    try {
      entry = typeof raw === 'string' ? decodeEntryValue(raw) : raw;
    } catch (error) {
      throw error instanceof CorruptionError ? new CorruptionError('fact record', group + SEP + encodeLayer(layer), error) : error;
    }
    const time = times?.[i] ?? Number.POSITIVE_INFINITY;
    if (time === Number.POSITIVE_INFINITY || writtenAt(entry) <= time) return entry;
    const past = await entryAt(sub, key, layer, time);
    if (past !== undefined) return past;
  }
  return undefined;
}

/** The version of a fact a layer held at `time`, from its history (undefined: none then). */
export async function entryAt(sub: KeyspaceReader, key: FactKey, layer: LayerId, time: number): Promise<EntryValue | undefined> {
  const iterator = sub.iterator({ ...historyAtRange(key, layer, time), limit: 1 });
  try {
    const [first] = (await iterator.nextv(1)) as [string, string][];
    return first === undefined ? undefined : decodeEntryValue(decodeHistoryValue(first[1], first[0]).entry, first[0]);
  } finally {
    await iterator.close();
  }
}

/** A record as a stored fact of a scope (domain/fact.ts; exported here for the store's readers). */
export { storedFact };
