import type { Catalog } from '../store/catalog.js';
import type { KeyStore } from '../store/key-store.js';
import { AuditService } from './audit.js';
import type { Clock } from './clock.js';
import { ContextService } from './context/context-service.js';
import { DatabaseService } from './databases.js';
import { EventService } from './events.js';
import { FactService } from './facts.js';
import { KeyService } from './keys.js';
import { PredicateService } from './predicates.js';
import { QueryService } from './query.js';
import { RuleService } from './rules.js';
import { ScopeService } from './scopes.js';
import { TenantService } from './tenants.js';

/** Every use case, built over one catalog; what transports (HTTP, MCP, CLI) are handed. */
export interface Services {
  readonly facts: FactService;
  readonly query: QueryService;
  readonly databases: DatabaseService;
  readonly scopes: ScopeService;
  readonly rules: RuleService;
  readonly keys: KeyService;
  readonly tenants: TenantService;
  readonly audit: AuditService;
  readonly context: ContextService;
  readonly events: EventService;
  readonly predicates: PredicateService;
}

export interface ServiceOptions {
  readonly catalog: Catalog;
  readonly keyStore: KeyStore;
  readonly adminKey: string | null;
  readonly clock: Clock;
}

export function createServices({ catalog, keyStore, adminKey, clock }: ServiceOptions): Services {
  const rules = new RuleService(catalog, clock);
  const keys = new KeyService(keyStore, adminKey, clock);
  const tenants = new TenantService(catalog);
  tenants.onDeprovision((database, tenant) => keys.forgetTenant(database, tenant));
  tenants.onDeprovision((database, tenant) => rules.forget(database, tenant));
  return {
    rules,
    keys,
    tenants,
    facts: new FactService(catalog, clock),
    query: new QueryService(catalog, clock, rules),
    databases: new DatabaseService(
      catalog,
      (database, tenant) => tenants.deprovisioned(database, tenant),
      (database) => keys.forgetDatabase(database),
    ),
    scopes: new ScopeService(catalog, clock),
    audit: new AuditService(catalog, clock),
    context: new ContextService(catalog, clock, rules),
    events: new EventService(catalog),
    predicates: new PredicateService(catalog, clock),
  };
}
