import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { MAIN_SCOPE } from '../domain/fact.js';
import type { ScopeRecord, ScopeRegistry } from '../store/scope-registry.js';
import type { TenantTransaction } from '../store/tenant-store.js';

/**
 * Fork copies nothing: the source's top layer is frozen and shared, and each side gets a new
 * empty top layer over it. O(1) whatever the size of the scope.
 */
export function forkScope(registry: ScopeRegistry, sourceName: string, targetName: string, now: number, asOf?: number): ScopeRecord {
  const source = registry.get(sourceName);
  if (!source) throw new NotFoundError(`scope '${sourceName}' does not exist`, { scope: sourceName });
  if (registry.has(targetName)) throw new ConflictError(`scope '${targetName}' already exists`, { scope: targetName });
  registry.put({ ...source, chain: [registry.allocateLayer(), ...source.chain] });
  // At a past moment: the same layers, read as they stood then (a cutoff; nothing is copied).
  const top = String(source.chain[0]);
  const earlier = source.cutoffs?.[top];
  const cutoffs = asOf === undefined ? source.cutoffs : { ...source.cutoffs, [top]: earlier === undefined ? asOf : Math.min(earlier, asOf) };
  const target: ScopeRecord = {
    name: targetName,
    base: sourceName,
    chain: [registry.allocateLayer(), ...source.chain],
    createdAt: now,
    ...(cutoffs === undefined ? {} : { cutoffs }),
  };
  registry.put(target);
  return target;
}

/** Give a scope a new top layer, freezing the current one (so it can serve as a merge base). */
export function freezeTop(registry: ScopeRegistry, scope: ScopeRecord): ScopeRecord {
  const frozen = { ...scope, chain: [registry.allocateLayer(), ...scope.chain] };
  registry.put(frozen);
  return frozen;
}

export function requireScope(registry: ScopeRegistry, name: string): ScopeRecord {
  const scope = registry.get(name);
  if (!scope) throw new NotFoundError(`scope '${name}' does not exist`, { scope: name });
  return scope;
}

/** Delete a scope and retire every layer no other scope (or merge base) still uses. `main` stays. */
export function deleteScope(tx: TenantTransaction, name: string): void {
  const registry = tx.scopes;
  if (name === MAIN_SCOPE) throw new ValidationError(`scope '${MAIN_SCOPE}' cannot be deleted`, { scope: name });
  const scope = requireScope(registry, name);
  const before = registry.layerUse();
  registry.remove(name);
  for (const other of registry.all()) {
    if (other.merges?.[name]) {
      const { [name]: _dropped, ...rest } = other.merges;
      registry.put({ ...other, merges: rest });
    }
  }
  const after = registry.layerUse();
  for (const [layer] of before) {
    if (!after.has(layer)) tx.retireLayer(layer, scope.chain[scope.chain.length - 1] === layer);
  }
}
