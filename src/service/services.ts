import { type WorkSlotLimits, WorkSlots } from './work-slots.js';
import { BackgroundRunner } from '../store/background.js';
import type { Catalog } from '../store/catalog.js';
import type { KeyStore } from '../store/key-store.js';
import { AccessService } from './access.js';
import { AuditService } from './audit.js';
import type { Clock } from './clock.js';
import type { TenantAddress } from './address.js';
import { ContextService } from './context/context-service.js';
import { DatabaseService } from './databases.js';
import { EventService } from './events.js';
import { FactService } from './facts.js';
import { KeyService } from './keys.js';
import { ListingService } from './listing.js';
import { HistoryService } from './history.js';
import { PredicateService } from './predicates.js';
import { QueryService } from './query.js';
import { RuleService } from './rules.js';
import { ScopeService } from './scopes.js';
import { SettingsService, budgetOf } from './settings.js';
import { UsageService } from './usage.js';
import { PortabilityService } from './portability.js';
import { type HookOptions, HookService, hooksUrlGuard } from './hooks.js';
import { Outbox } from '../store/outbox.js';
import { SearchService } from './retrieval/search.js';
import { embeddingDimensionsGuard } from './retrieval/dimensions.js';
import type { Settings } from '../contract/settings.js';
import { TenantGate } from './tenant-gate.js';
import { type AllowanceFactory, type SandboxOptions, SandboxService } from './sandbox.js';
import { ClaimStore } from '../store/claim-store.js';
import { DEFAULT_DATABASE } from '../store/catalog.js';
import { TenantService } from './tenants.js';
import { TransactionService } from './transactions.js';

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
  readonly history: HistoryService;
  /** Per-tenant concurrency of heavy requests (evaluations, joins, diffs, merges, context passes). */
  readonly slots: WorkSlots;
  readonly search: SearchService;
  /** Policies: server → database → tenant settings, and each tenant's effective ones. */
  readonly settings: SettingsService;
  /** Usage metering per tenant and day. */
  readonly usage: UsageService;
  /** Export and import of a tenant. */
  readonly portability: PortabilityService;
  /** Lifecycle webhooks. */
  readonly hooks: HookService;
  /** Progressive access: anonymous demo reads, sandboxes, claims. */
  readonly sandbox: SandboxService;
  /** Client transactions (in this process's memory). */
  readonly transactions: TransactionService;
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
  /** The server's settings (from the configuration) and the tier names a setting may pick. */
  readonly settings: { readonly defaults: Settings; readonly tiers: ReadonlySet<string> };
  /** Heavy requests per tenant running and waiting (default 2 and 32). */
  readonly heavySlots?: WorkSlotLimits;
  /** Lifecycle webhooks and their outbox (none when not given). */
  readonly hooks?: { readonly outbox: Outbox; readonly options: HookOptions };
  /** Progressive access (off when not given). */
  readonly sandbox?: Omit<SandboxOptions, 'database'>;
  /** Where allowances that must hold across processes are kept (sandboxes per address): memory when absent. */
  readonly allowances?: AllowanceFactory;
  /** Shared storage: how often a change stream reads the log for other processes' events (default 250 ms). */
  readonly eventPollMs?: number;
}

const NO_SANDBOX: Omit<SandboxOptions, 'database'> = { enabled: false, demoTenant: null, ttlMs: 24 * 3600 * 1000, tier: 'free', claimTtlMs: 24 * 3600 * 1000, perAddressPerHour: 10, maxFacts: 10_000 };

export function createServices({ catalog, keyStore, adminKey, clock, background = new BackgroundRunner(), sessionIdleMs, settings: policy, hooks: hookConfig, sandbox: sandboxOptions = NO_SANDBOX, allowances, eventPollMs = 250, heavySlots = { perTenant: 2, queuePerTenant: 32 } }: ServiceOptions): Services {
  const settings = new SettingsService(catalog, policy.defaults, policy.tiers);
  const hookOptions = hookConfig?.options ?? { url: null, secret: '', retryMs: 1000 };
  const hooks = new HookService(hookConfig?.outbox ?? new Outbox(catalog.systemLevel), clock, hookOptions, background, async (database, tenant) => (await settings.forTenant(database, tenant)).hooksUrl);
  settings.addGuard(hooksUrlGuard(hookOptions.secret !== ''));
  const usage = new UsageService(catalog, clock);
  const gate = new TenantGate();
  const rules = new RuleService(catalog, clock);
  settings.addGuard(embeddingDimensionsGuard(catalog, clock));
  const dimensionsOf = async (database: string, tenant: string) => (await settings.forTenant(database, tenant)).embeddingDimensions;
  const keys = new KeyService(keyStore, adminKey, clock);
  const tenants = new TenantService(catalog, (database, tenant) => keys.forgetTenant(database, tenant), gate);
  tenants.onDeprovision((database, tenant) => rules.forget(database, tenant));
  const slots = new WorkSlots(heavySlots);
  tenants.onDeprovision((database, tenant) => settings.forget(database, tenant));
  tenants.onProvision((database, tenant) => hooks.emit('tenant.provisioned', { database, tenant }));
  tenants.onDeprovision((database, tenant) => hooks.emit('tenant.deprovisioned', { database, tenant }));
  const portability = new PortabilityService(catalog, clock, rules, gate, dimensionsOf);
  const quotaExceeded = (address: TenantAddress, details: Record<string, unknown>) => hooks.emit('quota.exceeded', { database: address.database, tenant: address.tenant, ...details });
  const facts = new FactService(catalog, clock, dimensionsOf, ({ database, tenant }) => settings.forTenant(database, tenant), quotaExceeded);
  const transactions = new TransactionService(catalog, clock, facts, async ({ database, tenant }) => {
    const effective = await settings.forTenant(database, tenant);
    return { idleMs: effective.transactionIdleSeconds * 1000, maxOpen: effective.maxOpenTransactions, maxFacts: effective.maxFacts, maxBytes: effective.maxBytes };
  });
  return {
    rules,
    keys,
    access: new AccessService(keys, tenants, gate),
    tenants,
    facts,
    transactions,
    query: new QueryService(
      catalog,
      clock,
      rules,
      async ({ database, tenant }) => budgetOf(await settings.forTenant(database, tenant)),
      (address, cost) => usage.evaluation(address, cost),
      slots,
    ),
    databases: new DatabaseService(
      catalog,
      (database, tenant) => tenants.deprovisioned(database, tenant),
      (database) => {
        settings.forget(database);
        return keys.forgetDatabase(database);
      },
    ),
    scopes: new ScopeService(
      catalog,
      clock,
      background,
      async ({ database, tenant }) => budgetOf(await settings.forTenant(database, tenant)),
      ({ database, tenant }) => settings.forTenant(database, tenant),
      quotaExceeded,
    ),
    audit: new AuditService(catalog, clock),
    context: new ContextService(catalog, clock, rules, {
      ...(sessionIdleMs === undefined ? {} : { sessionIdleMs }),
      sessionIdleMsOf: async (database, tenant) => (await settings.forTenant(database, tenant)).sessionIdleMs,
      dimensionsOf,
      budgetOf: async (database, tenant) => budgetOf(await settings.forTenant(database, tenant)),
    }),
    events: new EventService(catalog, eventPollMs),
    predicates: new PredicateService(catalog, clock),
    background,
    listing: new ListingService(catalog, clock, rules),
    history: new HistoryService(catalog, clock),
    slots,
    search: new SearchService(catalog, clock, dimensionsOf),
    settings,
    usage,
    portability,
    hooks,
    sandbox: new SandboxService({ ...sandboxOptions, database: DEFAULT_DATABASE }, keys, tenants, settings, portability, hooks, new ClaimStore(catalog.systemLevel), clock, allowances),
  };
}
