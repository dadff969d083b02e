import type { FactPattern, StoredFact } from '../domain/fact.js';
import type { FactSource, SourceFact } from '../engine/source.js';
import type { ScopeView } from '../store/fact-reader.js';
import type { FactReads } from './transaction-overlay.js';

/**
 * The engine's port bound to one tenant and one scope view: the engine can only ever see the
 * facts of the tenant that asked. Over all scopes a fact held by several scopes is one tuple.
 */
export function tenantFactSource(tenant: FactReads, view: ScopeView, now: number): FactSource {
  return {
    async *match(pattern: FactPattern): AsyncGenerator<SourceFact> {
      let lastGroup: string | null = null;
      for await (const { fact, group } of tenant.match(view, pattern, { now })) {
        if (group === lastGroup) continue; // same fact, another scope: versions of a fact are adjacent
        lastGroup = group;
        yield { args: fact.args, ref: fact satisfies StoredFact };
      }
    },
    estimate: (pattern: FactPattern) => tenant.estimate(pattern),
  };
}
