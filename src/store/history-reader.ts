import type { FactKey, FactRecord } from '../domain/fact.js';
import { type LayerId, primaryKeyOf, indexKeysOf } from '../encoding/fact-keys.js';
import {
  allHistoryRange,
  decodeHistoryKey,
  decodeHistoryValue,
  historyOfFactRange,
  historyOfLayerRange,
  historyOfPredicateRange,
} from '../encoding/history-keys.js';
import { decodeEntryValue } from '../encoding/records.js';
import { type KeyspaceReader, scanRange } from './level-types.js';
import { type ScopeRecord, readTimes } from './scope-registry.js';

/** One logged version of a fact in a layer of a scope's chain. */
export interface FactVersion extends FactKey {
  readonly time: number;
  readonly actor: string | null;
  readonly version: number;
  /** null: the write was a retraction. */
  readonly record: FactRecord | null;
  /** Position of the layer in the scope's chain (0: the scope's own). */
  readonly depth: number;
  /** The history key: orders versions of one time (newest first within a fact and layer). */
  readonly key: string;
}

/**
 * Every logged version of a predicate's facts (of one fact when `args` is given) in a scope's
 * chain, as far as the scope sees them: a layer read at a past moment (a fork at a past moment)
 * contributes the versions written until then.
 */
export async function* versionsIn(sub: KeyspaceReader, scope: ScopeRecord, predicate: string, args: readonly FactKey['args'][number][] | null): AsyncGenerator<FactVersion> {
  const times = readTimes(scope, undefined);
  for (const [depth, layer] of scope.chain.entries()) {
    const range = args === null ? historyOfPredicateRange(predicate, layer) : historyOfFactRange({ predicate, args, negated: false }, layer);
    const until = times?.[depth] ?? Number.POSITIVE_INFINITY;
    for await (const [raw, value] of scanRange(sub, range)) {
      const key = decodeHistoryKey(raw);
      if (key.time > until || key.predicate !== predicate) continue;
      const logged = decodeHistoryValue(value, raw);
      const entry = decodeEntryValue(logged.entry, raw);
      yield { predicate: key.predicate, args: key.args, negated: key.negated, time: key.time, actor: logged.actor, version: logged.version, record: entry.kind === 'record' ? entry.record : null, depth, key: raw };
    }
  }
}

/** What a prune removed. */
export interface PruneResult {
  readonly versions: number;
  readonly tombstones: number;
}

/**
 * The history a read at or after `before` can still need, nothing more: per fact and layer, the
 * versions newer than `before` and the one that held at `before`. A root layer's fact whose last
 * version is a retraction older than `before` goes entirely (index tombstone included): nothing
 * below it is hidden, and no read that may still be asked finds it there.
 */
export async function pruneOps(sub: KeyspaceReader, before: number, roots: ReadonlySet<LayerId>): Promise<{ deletes: string[]; result: PruneResult }> {
  const deletes: string[] = [];
  let versions = 0;
  let tombstones = 0;
  let fact: string | null = null;
  let kept = false;
  let group: string[] = [];
  let dropWhole: { key: FactKey; layer: LayerId } | null = null;
  const candidates: { key: FactKey; layer: LayerId; keys: string[] }[] = [];
  const close = () => {
    if (dropWhole !== null) candidates.push({ ...dropWhole, keys: group });
  };
  for await (const [raw, value] of scanRange(sub, allHistoryRange())) {
    const key = decodeHistoryKey(raw);
    if (key.fact !== fact) {
      close();
      fact = key.fact;
      kept = false;
      group = [];
      dropWhole = null;
      // The newest version comes first: a retraction older than `before` in a root layer ends the fact there.
      if (key.time < before && roots.has(key.layer) && decodeEntryValue(decodeHistoryValue(value, raw).entry, raw).kind === 'tombstone') {
        dropWhole = { key, layer: key.layer };
      }
    }
    group.push(raw);
    if (kept) {
      deletes.push(raw);
      versions++;
    } else if (key.time <= before) kept = true;
  }
  close();
  // A whole fact goes only if the index still holds that retraction (a later write would be logged first).
  for (let i = 0; i < candidates.length; i += 500) {
    const chunk = candidates.slice(i, i + 500);
    const values = await sub.getMany(chunk.map((c) => primaryKeyOf(c.key, c.layer)));
    chunk.forEach((c, j) => {
      const raw = values[j];
      if (raw === undefined) return;
      const entry = decodeEntryValue(raw);
      if (entry.kind !== 'tombstone' || entry.at >= before) return;
      tombstones++;
      deletes.push(...indexKeysOf(c.key, c.layer));
      // Its newest version is older than `before`, so it is the one kept above: the others are already deleted.
      deletes.push(c.keys[0] as string);
      versions++;
    });
  }
  return { deletes: [...new Set(deletes)], result: { versions, tombstones } };
}

/** The facts (either polarity, as positive keys) a scope's chain logged a version of after `time`. */
export async function changedSince(sub: KeyspaceReader, scope: ScopeRecord, time: number): Promise<FactKey[]> {
  const times = readTimes(scope, undefined);
  const found = new Map<string, FactKey>();
  for (const [depth, layer] of scope.chain.entries()) {
    const until = times?.[depth] ?? Number.POSITIVE_INFINITY;
    if (until <= time) continue;
    for await (const [raw] of scanRange(sub, historyOfLayerRange(layer))) {
      const key = decodeHistoryKey(raw);
      if (key.time > time && key.time <= until) found.set(JSON.stringify([key.predicate, key.args]), { predicate: key.predicate, args: key.args, negated: false });
    }
  }
  return [...found.values()];
}
