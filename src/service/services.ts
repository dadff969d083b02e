import { BackgroundRunner } from '../store/background.js';
import type { Catalog } from '../store/catalog.js';
import type { KeyStore } from '../store/key-store.js';
import { AccessService } from './access.js';
import { AuditService } from './audit.js';
import type { Clock } from './clock.js';
import { ContextService } from './context/context-service.js';
import { DatabaseService } from './databases.js';
import { EventService } from './events.js';
import { FactService } from './facts.js';
import { KeyService } from './keys.js';
import { ListingService } from './listing.js';
import { PredicateService } from './predicates.js';
import type { Budget } from '../engine/index.js';
import { QueryService } from './query.js';
import { RuleService } from './rules.js';
import { ScopeService } from './scopes.js';
import { SearchService } from './retrieval/search.js';
import { embeddingDimensionsGuard } from './retrieval/dimensions.js';
import { SettingsService } from './settings.js';
import type { Settings } from '../contract/settings.js';
import { TenantGate } from './tenant-gate.js';
import { TenantService } from './tenants.js';

/** Every use case, built over one catalog; what transports (HTTP, MCP, CLI) are handed. */
export interface Services {
  readonly facts: FactService;
  readonly query: QueryService;
  readonly databases: DatabaseService;
  readonly scopes: ScopeService;
  readonly rules: RuleService;
  readonly keys: KeyService;
  /** Grants re-checked for long-lived connections, and the changes that may revoke them. */
  readonly access: AccessService;
  readonly tenants: TenantService;
  readonly audit: AuditService;
  readonly context: ContextService;
  readonly events: EventService;
  readonly predicates: PredicateService;
  /** Background work of every service and database: logged, counted, awaited at shutdown. */
  readonly background: BackgroundRunner;
  readonly listing: ListingService;
  readonly search: SearchService;
  /** Policies: server → database → tenant settings, and each tenant's effective ones. */
  readonly settings: SettingsService;
}

export interface ServiceOptions {
  readonly catalog: Catalog;
  readonly keyStore: KeyStore;
  readonly adminKey: string | null;
  readonly clock: Clock;
  /** The runner the catalog's databases use too (a new one when not given: tests). */
  readonly background?: BackgroundRunner;
  /** Context sessions idle for longer than this are forgotten (and swept). */
  readonly sessionIdleMs?: number;
  /** Per-request evaluation budget of asks (absent = unlimited). */
  readonly queryBudget?: Budget;
  /** The server's settings (from the configuration) and the tier names a setting may pick. */
  readonly settings: { readonly defaults: Settings; readonly tiers: ReadonlySet<string> };
}

export function createServices({ catalog, keyStore, adminKey, clock, background = new BackgroundRunner(), sessionIdleMs, queryBudget = {}, settings: policy }: ServiceOptions): Services {
  const settings = new SettingsService(catalog, policy.defaults, policy.tiers);
  const rules = new RuleService(catalog, clock);
  settings.addGuard(embeddingDimensionsGuard(catalog, clock));
  const dimensionsOf = async (database: string, tenant: string) => (await settings.forTenant(database, tenant)).embeddingDimensions;
  const keys = new KeyService(keyStore, adminKey, clock);
  const gate = new TenantGate();
  const tenants = new TenantService(catalog, (database, tenant) => keys.forgetTenant(database, tenant), gate);
  tenants.onDeprovision((database, tenant) => rules.forget(database, tenant));
  tenants.onDeprovision((database, tenant) => settings.forget(database, tenant));
  return {
    rules,
    keys,
    access: new AccessService(keys, tenants, gate),
    tenants,
    facts: new FactService(catalog, clock, dimensionsOf),
    query: new QueryService(catalog, clock, rules, queryBudget),
    databases: new DatabaseService(
      catalog,
      (database, tenant) => tenants.deprovisioned(database, tenant),
      (database) => {
        settings.forget(database);
        return keys.forgetDatabase(database);
      },
    ),
    scopes: new ScopeService(catalog, clock, background),
    audit: new AuditService(catalog, clock),
    context: new ContextService(catalog, clock, rules, { dimensionsOf, ...(sessionIdleMs === undefined ? {} : { sessionIdleMs }) }),
    events: new EventService(catalog),
    predicates: new PredicateService(catalog, clock),
    background,
    listing: new ListingService(catalog, clock, rules),
    search: new SearchService(catalog, clock, dimensionsOf),
    settings,
  };
}
