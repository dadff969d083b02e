import type { StoredFact } from '../domain/fact.js';
import type { Catalog } from '../store/catalog.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';

export interface PredicateSummary {
  readonly predicate: string;
  readonly arity: number;
  /** Visible stored facts (a fact held by two scopes counts twice; derived facts are not counted). */
  readonly facts: number;
  readonly negated: number;
  readonly scopes: string[];
}

/**
 * The vocabulary of a tenant: which predicates its stored facts use, with counts. One scan of the
 * tenant's primary index entries; what an agent reads once to learn what it can ask about.
 */
export class PredicateService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
  ) {}

  async list(address: TenantAddress): Promise<PredicateSummary[]> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return [];
    const now = this.clock();
    const found: Found = new Map();
    await database.tenant(address.tenant).read(now, async (reader) => {
      const view = reader.view(null);
      if (view !== null) for await (const { fact } of reader.allFacts(view, { now })) count(found, fact);
    });
    return [...found.values()]
      .map((e) => ({ ...e, scopes: [...e.scopes].sort() }))
      .sort((a, b) => (a.predicate < b.predicate ? -1 : a.predicate > b.predicate ? 1 : a.arity - b.arity));
  }
}

type Found = Map<string, { predicate: string; arity: number; facts: number; negated: number; scopes: Set<string> }>;

function count(found: Found, fact: StoredFact): void {
  const key = `${fact.predicate}/${fact.args.length}`;
  let entry = found.get(key);
  if (!entry) found.set(key, (entry = { predicate: fact.predicate, arity: fact.args.length, facts: 0, negated: 0, scopes: new Set() }));
  entry.facts++;
  if (fact.negated) entry.negated++;
  entry.scopes.add(fact.scope);
}
