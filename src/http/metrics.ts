import type { Context } from 'koa';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { VectorIndexStats } from '../store/vector-index.js';

/** What /metrics reports of the background runner (store/background.ts). */
export interface BackgroundStats {
  stats(): ReadonlyMap<string, { readonly started: number; readonly failed: number }>;
  readonly active: number;
}

/** A tenant's usage totals (service/usage.ts), largest request count first. */
export interface TenantUsage {
  readonly database: string;
  readonly tenant: string;
  readonly requests: number;
  readonly ruleEvalMs: number;
  readonly rowsRead: number;
}

/** Prometheus metrics: request latency by method, matched route and status, plus the process defaults. */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(background: BackgroundStats | null = null) {
    collectDefaultMetrics({ register: this.registry });
    if (background) this.countBackground(background);
    this.duration = new Histogram({
      name: 'vesper_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }

  /** Gauges of the catalogue: open database handles, their bound, and a full disk (1 while writes are refused). */
  trackDatabases(stats: () => { open: number; maxOpen: number; leases: number; storageFull: boolean }): void {
    const gauge = (name: string, help: string, read: (s: ReturnType<typeof stats>) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read(stats())); } });
    gauge('vesper_open_databases', 'databases whose LevelDB is open', (s) => s.open);
    gauge('vesper_open_databases_limit', 'most databases open at once (VESPER_MAX_OPEN_DATABASES or derived from the file limit)', (s) => s.maxOpen);
    gauge('vesper_database_leases', 'databases held by requests in flight (0 when idle: a leak shows here)', (s) => s.leases);
    gauge('vesper_storage_full', '1 while writes are refused because the disk of the data directory is full', (s) => (s.storageFull ? 1 : 0));
  }

  /** The approximate vector indexes (store/vector-index.ts): how many, their vectors, and which path layer searches took. */
  trackVectorIndexes(stats: () => VectorIndexStats): void {
    new Gauge({
      name: 'vesper_vector_indexes',
      help: 'approximate vector indexes in memory, by state (ready: answering; building: being filled, searched exactly meanwhile)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const s = stats();
        this.set({ state: 'ready' }, s.ready);
        this.set({ state: 'building' }, s.building);
      },
    });
    const gauge = (name: string, help: string, read: (s: VectorIndexStats) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read(stats())); } });
    gauge('vesper_vector_indexed_tenants', 'tenants holding approximate vector indexes (at most VESPER_ANN_MAX_TENANTS)', (s) => s.tenants);
    gauge('vesper_vector_indexed_vectors', 'vectors held by the approximate indexes', (s) => s.vectors);
    new Gauge({
      name: 'vesper_vector_layer_searches_total',
      help: 'layer searches of vector queries since the process started, by path (approximate: an index answered; exact: every vector compared)',
      labelNames: ['path'],
      registers: [this.registry],
      collect() {
        const s = stats();
        this.set({ path: 'approximate' }, s.approximateSearches);
        this.set({ path: 'exact' }, s.exactSearches);
      },
    });
  }

  /**
   * Per-tenant usage since start: the `top` tenants by requests each get their series, the rest
   * add up under tenant="other" (database="other"), so the label cardinality stays bounded
   * whatever the number of tenants.
   */
  trackTenants(totals: () => { readonly tenants: readonly TenantUsage[]; readonly folded: Omit<TenantUsage, 'database' | 'tenant'> }, top = 20): void {
    const series = (name: string, help: string, read: (u: Omit<TenantUsage, 'database' | 'tenant'>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['database', 'tenant'],
        registers: [this.registry],
        collect() {
          this.reset();
          const { tenants, folded } = totals();
          for (const u of tenants.slice(0, top)) this.set({ database: u.database, tenant: u.tenant }, read(u));
          // `other`: the tenants beyond the top ones, plus those the usage service no longer tracks one by one.
          const rest = tenants.slice(top).reduce((sum, u) => sum + read(u), read(folded));
          if (tenants.length > top || rest > 0) this.set({ database: 'other', tenant: 'other' }, rest);
        },
      });
    series('vesper_tenant_requests_total', `requests per tenant since the process started (top ${top} tenants, the rest as other)`, (u) => u.requests);
    series('vesper_tenant_rule_eval_seconds_total', 'rule and join evaluation time per tenant since the process started', (u) => u.ruleEvalMs / 1000);
    series('vesper_tenant_rows_read_total', 'stored facts read by queries per tenant since the process started', (u) => u.rowsRead);
  }

  /** Background tasks started, failed (per task) and running, read from the runner at each scrape. */
  private countBackground(background: BackgroundStats): void {
    new Gauge({
      name: 'vesper_background_tasks_total',
      help: 'Background tasks by task and outcome (started, failed) since the process started',
      labelNames: ['task', 'outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [task, count] of background.stats()) {
          this.set({ task, outcome: 'started' }, count.started);
          this.set({ task, outcome: 'failed' }, count.failed);
        }
      },
    });
    new Gauge({
      name: 'vesper_background_tasks_running',
      help: 'Background tasks running now',
      registers: [this.registry],
      collect() {
        this.set(background.active);
      },
    });
  }

  /**
   * The histogram's child per (method, route, status), bound once: labels given at each
   * observation are hashed into a key every time. Routes are the table's paths, and the methods
   * (those Node's parser accepts) and statuses are few, so this stays as small as the histogram's own label set.
   */
  private readonly bound = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();

  private child(method: string, route: string, status: number): Histogram.Internal<'method' | 'route' | 'status'> {
    const key = `${method} ${status} ${route}`;
    let child = this.bound.get(key);
    if (child === undefined) {
      child = this.duration.labels({ method, route, status: String(status) });
      this.bound.set(key, child);
    }
    return child;
  }

  /** One request's duration since `start` (process.hrtime.bigint()), once its status is final (envelope.ts). */
  observe(ctx: Context, start: bigint): void {
    const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    this.child(ctx.method, String(route), ctx.status).observe(Number(process.hrtime.bigint() - start) / 1e9);
  }
}
