import type { FactKey } from '../domain/fact.js';
import type { LayerId } from '../encoding/fact-keys.js';
import { nearestEntry } from '../store/layer-reader.js';
import type { ScopeRecord } from '../store/scope-registry.js';
import type { TenantStore, TenantTransaction } from '../store/tenant-store.js';

/** A chain deeper than this gets its private frozen layers folded into one. */
export const FLATTEN_DEPTH = 8;

/**
 * The longest run of frozen layers (below the top) that only this scope uses: no other chain
 * and no merge base needs them one by one, so they can become a single layer.
 */
export function privateRun(scope: ScopeRecord, use: ReadonlyMap<LayerId, number>): { start: number; end: number } | null {
  let best: { start: number; end: number } | null = null;
  let start = -1;
  for (let i = 1; i <= scope.chain.length; i++) {
    const layer = scope.chain[i];
    const isPrivate = layer !== undefined && use.get(layer) === 1;
    if (isPrivate && start < 0) start = i;
    if (!isPrivate && start >= 0) {
      if (i - start >= 2 && (!best || i - start > best.end - best.start)) best = { start, end: i };
      start = -1;
    }
  }
  return best;
}

/**
 * Fold a run of layers into one new layer holding, per fact, the entry nearest the top within
 * the run. A run that reaches the bottom of the chain becomes a root layer: tombstones have
 * nothing left to hide and are dropped, and a root is not listed. The chain is swapped in the
 * same batch; the old layers are retired, and their keys removed once no open reader needs them.
 */
export async function flattenRun(tx: TenantTransaction, scope: ScopeRecord, run: { start: number; end: number }): Promise<LayerId> {
  const registry = tx.scopes;
  const layers = scope.chain.slice(run.start, run.end);
  const reachesBottom = run.end === scope.chain.length;
  const merged = registry.allocateLayer();
  const keys = new Map<string, FactKey>();
  for (const [i, layer] of layers.entries()) {
    const isRoot = reachesBottom && i === layers.length - 1;
    for await (const key of tx.factsInLayer(layer, isRoot)) keys.set(JSON.stringify([key.predicate, key.negated, ...key.args]), key);
  }
  const facts = [...keys.values()];
  for (let i = 0; i < facts.length; i += 500) {
    const chunk = facts.slice(i, i + 500);
    const entries = await tx.entriesIn(chunk, layers);
    chunk.forEach((fact, j) => {
      const entry = nearestEntry(layers, entries[j] as NonNullable<(typeof entries)[number]>);
      // A dated tombstone stays (an as-of read finds the fact's past through it; the pruner drops it
      // after the retention period); one of before format 3 has no past to lead to.
      if (!entry || (entry.kind === 'tombstone' && reachesBottom && entry.at === 0)) return;
      tx.putEntry(fact, merged, entry, !reachesBottom, { vectorFrom: layers });
    });
  }
  // Writes to a layer of a chain all come after those to the layers below it (a layer is written only
  // while it tops a chain), so the newest version at or before T in the union of the run's logs is
  // the nearest layer's version at T: the union is the folded layer's history.
  await tx.copyHistory(layers, merged);
  let count = 0;
  for (const layer of layers) count += registry.countOf([layer]);
  layers.forEach((layer, l) => tx.retireLayer(layer, reachesBottom && l === layers.length - 1));
  registry.adjustCount(merged, count);
  registry.put({ ...scope, chain: [...scope.chain.slice(0, run.start), merged, ...scope.chain.slice(run.end)] });
  return merged;
}

/**
 * True when a run holds a layer the scope reads at a past moment (a fork at a past moment whose
 * source is gone): the folded layer would have no cutoff of its own, so it is left as it is.
 */
function readAtCutoff(scope: ScopeRecord, run: { start: number; end: number }): boolean {
  if (scope.cutoffs === undefined) return false;
  const first = scope.chain.findIndex((layer) => scope.cutoffs?.[String(layer)] !== undefined);
  return first >= 0 && run.end > first;
}

/** Flatten every scope whose chain is deeper than FLATTEN_DEPTH, as far as private layers allow. */
export async function flattenDeepChains(tenant: TenantStore, now: number): Promise<number> {
  return tenant.transaction(now, async (tx) => {
    let flattened = 0;
    // Counted once and kept up to date: a run is private, so folding it changes no other layer's
    // count. (Recounting per scope made every fork cost O(scopes × chain length) — quadratic in the
    // number of live forks, seconds per fork at a few hundred.)
    const use = tx.scopes.layerUse();
    for (const scope of tx.scopes.all()) {
      if (scope.chain.length <= FLATTEN_DEPTH) continue;
      const run = privateRun(scope, use);
      if (!run || readAtCutoff(scope, run)) continue;
      for (const layer of scope.chain.slice(run.start, run.end)) use.delete(layer);
      use.set(await flattenRun(tx, scope, run), 1);
      flattened++;
    }
    return flattened;
  });
}
