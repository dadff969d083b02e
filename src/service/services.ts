import type { Catalog } from '../store/catalog.js';
import type { Clock } from './clock.js';
import { DatabaseService } from './databases.js';
import { FactService } from './facts.js';
import { QueryService } from './query.js';
import { RuleService } from './rules.js';
import { ScopeService } from './scopes.js';

/** Every use case, built over one catalog; what transports (HTTP, MCP, CLI) are handed. */
export interface Services {
  readonly facts: FactService;
  readonly query: QueryService;
  readonly databases: DatabaseService;
  readonly scopes: ScopeService;
  readonly rules: RuleService;
}

export function createServices(catalog: Catalog, clock: Clock): Services {
  const rules = new RuleService(catalog, clock);
  return {
    rules,
    facts: new FactService(catalog, clock),
    query: new QueryService(catalog, clock, rules),
    databases: new DatabaseService(catalog),
    scopes: new ScopeService(catalog, clock),
  };
}
