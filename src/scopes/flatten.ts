import type { FactKey } from '../domain/fact.js';
import { type LayerId, indexKeysOf, listingKeyOf } from '../encoding/fact-keys.js';
import { TOMBSTONE_VALUE, encodeRecord } from '../encoding/records.js';
import { entriesIn, factsInLayer, nearestEntry } from '../store/layer-reader.js';
import type { BatchOp } from '../store/level-types.js';
import type { ScopeRecord, ScopeRegistry } from '../store/scope-registry.js';
import type { TenantStore } from '../store/tenant-store.js';

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
 * nothing left to hide and are dropped, and a root is not listed. Returns the ops that write the
 * new layer and swap the chain (one batch), and the ops that remove the old layers, applied a
 * little later so that reads which captured the old chain just before the swap still find them.
 */
export async function flattenRun(
  tenant: TenantStore,
  registry: ScopeRegistry,
  scope: ScopeRecord,
  run: { start: number; end: number },
): Promise<{ write: BatchOp[]; cleanup: BatchOp[] }> {
  const layers = scope.chain.slice(run.start, run.end);
  const reachesBottom = run.end === scope.chain.length;
  const merged = registry.allocateLayer();
  const keys = new Map<string, FactKey>();
  for (const [i, layer] of layers.entries()) {
    const isRoot = reachesBottom && i === layers.length - 1;
    for await (const key of factsInLayer(tenant.sub, layer, isRoot)) keys.set(JSON.stringify([key.predicate, key.negated, ...key.args]), key);
  }
  const ops: BatchOp[] = [];
  const cleanup: BatchOp[] = [];
  let count = 0;
  const facts = [...keys.values()];
  for (let i = 0; i < facts.length; i += 500) {
    const chunk = facts.slice(i, i + 500);
    const entries = await entriesIn(tenant.sub, chunk, layers);
    chunk.forEach((fact, j) => {
      const entry = nearestEntry(layers, entries[j] as Map<LayerId, never>);
      if (!entry || (entry.kind === 'tombstone' && reachesBottom)) return;
      const value = entry.kind === 'record' ? encodeRecord(entry.record) : TOMBSTONE_VALUE;
      for (const k of indexKeysOf(fact, merged)) ops.push({ type: 'put', key: k, value, sublevel: tenant.sub });
      if (!reachesBottom) ops.push({ type: 'put', key: listingKeyOf(fact, merged), value: '', sublevel: tenant.sub });
    });
    for (const [j, fact] of chunk.entries()) {
      for (const [l, layer] of layers.entries()) {
        if (!(entries[j] as Map<LayerId, unknown>).has(layer)) continue;
        for (const k of indexKeysOf(fact, layer)) cleanup.push({ type: 'del', key: k, sublevel: tenant.sub });
        if (!(reachesBottom && l === layers.length - 1)) cleanup.push({ type: 'del', key: listingKeyOf(fact, layer), sublevel: tenant.sub });
      }
    }
  }
  for (const layer of layers) count += registry.countOf([layer]);
  for (const layer of layers) ops.push(registry.dropLayerCount(layer));
  registry.adjustCount(merged, count);
  registry.put({ ...scope, chain: [...scope.chain.slice(0, run.start), merged, ...scope.chain.slice(run.end)] });
  return { write: ops, cleanup };
}

/** How long old layers stay readable after a flatten swapped them out. */
const CLEANUP_DELAY_MS = 5_000;

/** Flatten every scope whose chain is deeper than FLATTEN_DEPTH, as far as private layers allow. */
export async function flattenDeepChains(tenant: TenantStore, now: number): Promise<number> {
  return tenant.lock.run(async () => {
    const registry = await tenant.scopes(now);
    let flattened = 0;
    for (const scope of registry.all()) {
      if (scope.chain.length <= FLATTEN_DEPTH) continue;
      const run = privateRun(scope, registry.layerUse());
      if (!run) continue;
      const { write, cleanup } = await flattenRun(tenant, registry, scope, run);
      await tenant.commit(write);
      setTimeout(() => void tenant.lock.run(() => tenant.commit(cleanup)).catch(() => undefined), CLEANUP_DELAY_MS).unref();
      flattened++;
    }
    return flattened;
  });
}
