import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { FairAdmission, admissionMiddleware } from './admission.js';
import type { Logger } from 'pino';
import type { Operation } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { hostAddress, pathAddress } from './addressing.js';
import { authenticationMiddleware, bodyRefusedGuard, tenantGuard } from './auth.js';
import { type BrowserGuardOptions, browserGuard } from './browser-guard.js';
import { tenantBodyParser } from './body-limit.js';
import { envelopeMiddleware } from './envelope.js';
import { notFoundMiddleware } from './errors.js';
import { jsonDepthCheck } from './json-depth.js';
import { HttpMetrics } from './metrics.js';
import { type LimiterFactory, TenantRateLimiter, type Tier } from './rate-limit.js';
import { RefusalGuard } from './refusals.js';
import { bodilessCheck } from './request-body.js';
import { checksMiddleware } from './request-checks.js';
import { mountOperations, publicPaths, streamedBodies } from './router.js';
import type { RouteDeps } from './routes/deps.js';
import { eventsHandler } from './routes/events.js';
import { portabilityHandlers } from './routes/portability.js';
import { type HealthInfo, serverHandlers } from './routes/health.js';
import { mcpHandlers } from './routes/mcp.js';
import { OpenStreams } from './streams.js';
import type { VectorIndexStats } from '../store/vector-index.js';

export interface AppOptions {
  readonly services: Services;
  readonly logger: Logger;
  readonly health: HealthInfo;
  /** Largest body in bytes, unless the tenant's maxBodyBytes setting says otherwise. */
  readonly maxBody: number;
  readonly authEnabled: boolean;
  /** Requests per second per tenant of the `default` tier when `tiers` does not give it; 0 = unlimited. */
  readonly rateLimit: number;
  /** Where request budgets are kept (default: this process's memory; on PostgreSQL: there, shared by every process). */
  readonly limiters?: LimiterFactory;
  /** Rate-limit tiers by name; a tenant's settings pick one. */
  readonly tiers?: Readonly<Record<string, Tier>>;
  /** Host and Origin checks against browser-borne requests (default: loopback names and IP literals, no origins). */
  readonly browser?: BrowserGuardOptions;
  /** 401/403 per minute per key and per client address before 429s; 0 = no limit (default 60). */
  readonly authFailureLimit?: number;
  /**
   * Behind a reverse proxy: ctx.ip is the address the proxy saw (the last X-Forwarded-For hop, the
   * only one the proxy vouches for), so per-address limits (sandboxes, refusals) count clients, not
   * the proxy. Off by default: a direct client could otherwise name any address it likes.
   */
  readonly trustProxy?: boolean;
  /** Fair admission between tenants (admission.ts); absent: off. */
  readonly admission?: { readonly perTurn: number; readonly queuePerTenant: number };
  /** MCP sessions: idle time before closing, sessions per key. */
  readonly mcp?: { readonly idleMs?: number; readonly maxSessionsPerKey?: number };
  /** The approximate vector indexes' counts for /metrics (absent: none are kept). */
  readonly vectorIndexes?: () => VectorIndexStats;
}

/**
 * The koa application. Order of a request: request id → errors → path addressing →
 * authentication (before the body is read: an anonymous client cannot make the server parse
 * 32 MB) → JSON body → 404/405 (wrapping the router: allowedMethods sets 405 after it) → route
 * (tenant guard: address → authorisation → rate limit → handler). The routes are the rows of
 * the operation table (src/operations), nothing else. While draining, connections close.
 */
export function createApp(options: AppOptions): { app: Koa; router: Router; deps: RouteDeps } {
  const app = new Koa();
  app.silent = true; // errors are logged once, by the envelope (envelope.ts)
  app.proxy = options.trustProxy ?? false;
  app.maxIpsCount = 1;
  const router = new Router();
  const settings = options.services.settings as Services['settings'] | undefined; // absent in tests of the app alone
  const limiter = new TenantRateLimiter(options.tiers ?? {}, settings ? (database, tenant) => settings.cachedFor(database, tenant) ?? settings.forTenant(database, tenant) : null, options.rateLimit, options.limiters);
  const streams = new OpenStreams();
  const deps: RouteDeps = {
    services: options.services,
    streams,
    tenant: (op: Operation, audit?: string, makesSandbox?: boolean) => tenantGuard(op, options.services, limiter, audit, makesSandbox),
    rateLimit: async (address) => {
      await limiter.consume(address);
    },
  };
  const metrics = new HttpMetrics(options.services.background);
  metrics.trackDatabases(options.health.databases);
  if (options.vectorIndexes) metrics.trackVectorIndexes(options.vectorIndexes);
  const usage = options.services.usage as Services['usage'] | undefined; // absent in tests of the app alone
  if (usage) metrics.trackTenants(() => usage.tenantTotals());
  const refusals = new RefusalGuard(options.authFailureLimit ?? 60, options.logger, metrics.registry, options.limiters);
  const exactRoutes = mountOperations(router, deps, options.health, {
    ...serverHandlers(options.health, metrics),
    events: eventsHandler(deps),
    ...portabilityHandlers(options.services),
    ...mcpHandlers(deps, { logger: options.logger, server: options.health, ...options.mcp, onRefused: (error, who) => refusals.record(error, who) }),
  });

  // Request id, refusal allowance, failures as envelopes, duration metrics, drain: one frame (envelope.ts).
  app.use(envelopeMiddleware({ ready: options.health.ready, metrics, refusals, logger: options.logger }));
  // Checks that only look at the request, in line: browser-borne requests, a GET with a body, the path and host forms of the address.
  app.use(checksMiddleware([browserGuard(options.browser ?? { allowedHosts: [], corsOrigins: [] }), bodilessCheck, pathAddress, hostAddress(options.browser?.baseHost)]));
  // Fair admission before anything costly per request (authentication, body, route): see admission.ts.
  if (options.admission && options.admission.perTurn > 0) app.use(admissionMiddleware(new FairAdmission(options.admission.perTurn, options.admission.queuePerTenant)));
  // Authentication before the body is read: an anonymous client cannot make the server parse a large body.
  app.use(authenticationMiddleware(options.services, options.authEnabled, publicPaths()));
  app.use(tenantBodyParser(options.services, options.maxBody, streamedBodies(), bodyRefusedGuard(limiter)));
  app.use(checksMiddleware([jsonDepthCheck]));
  app.use(notFoundMiddleware);
  app.use(exactRoutes);
  app.use(router.routes());
  app.use(router.allowedMethods());
  // What escapes every middleware (koa answers it in plain text, e.g. a body that cannot be
  // serialised) is still logged, with its request id.
  app.on('error', (err: unknown, ctx?: { state?: { requestId?: string } }) => options.logger.error({ err, requestId: ctx?.state?.requestId }, 'request failed outside the error middleware'));
  return { app, router, deps };
}
