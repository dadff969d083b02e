import type { FactPattern, StoredFact } from '../domain/fact.js';
import type { FactSource, SourceFact } from '../engine/source.js';
import type { MatchOptions, ScopeView } from '../store/fact-reader.js';
import type { FactReads } from './transaction-overlay.js';

/**
 * When a read looks at the tenant: now (a number), or a past moment (`asOf`, transaction time)
 * and/or another valid time (`validAt`). Every reader of facts takes it as it is (asks, rules,
 * context, aggregates), so a time asked for reaches the store the same way from each.
 */
export type ReadMoment = number | { readonly now: number; readonly asOf?: number | undefined; readonly validAt?: number | undefined };

/** The store's read options for a moment. */
export function readOptions(at: ReadMoment): MatchOptions {
  if (typeof at === 'number') return { now: at };
  return {
    now: at.asOf ?? at.now,
    ...(at.asOf === undefined ? {} : { asOf: at.asOf }),
    ...(at.validAt === undefined ? {} : { validAt: at.validAt }),
  };
}

/**
 * The engine's port bound to one tenant and one scope view: the engine can only ever see the
 * facts of the tenant that asked. Over all scopes a fact held by several scopes is one tuple.
 */
export function tenantFactSource(tenant: FactReads, view: ScopeView, at: ReadMoment): FactSource {
  const options = readOptions(at);
  return {
    async *match(pattern: FactPattern): AsyncGenerator<SourceFact> {
      let lastGroup: string | null = null;
      for await (const { fact, group } of tenant.match(view, pattern, options)) {
        if (group === lastGroup) continue; // same fact, another scope: versions of a fact are adjacent
        lastGroup = group;
        yield { args: fact.args, ref: fact satisfies StoredFact };
      }
    },
    estimate: (pattern: FactPattern) => tenant.estimate(pattern),
  };
}
