import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Operation } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { pathAddressMiddleware } from './addressing.js';
import { authenticationMiddleware, tenantGuard } from './auth.js';
import { bodyErrors, errorMiddleware, notFoundMiddleware } from './errors.js';
import { HttpMetrics } from './metrics.js';
import { TenantRateLimiter } from './rate-limit.js';
import { requestIdMiddleware } from './request-id.js';
import { OpenStreams } from './streams.js';
import { adminRoutes } from './routes/admin.js';
import { contextRoutes } from './routes/context.js';
import { databaseRoutes } from './routes/databases.js';
import type { RouteDeps } from './routes/deps.js';
import { eventRoutes } from './routes/events.js';
import { factRoutes } from './routes/facts.js';
import { type HealthInfo, healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { mcpRoutes } from './routes/mcp.js';
import { ruleRoutes } from './routes/rules.js';
import { scopeRoutes } from './routes/scopes.js';

export interface AppOptions {
  readonly services: Services;
  readonly logger: Logger;
  readonly health: HealthInfo;
  readonly maxBody: string;
  readonly authEnabled: boolean;
  /** Requests per second per tenant; 0 = unlimited. */
  readonly rateLimit: number;
}

/**
 * The koa application. Order of a request: request id → errors → path addressing → JSON body →
 * authentication → 404/405 (wrapping the router: allowedMethods sets 405 after it) → route
 * (tenant guard: address → authorisation → rate limit → handler). While draining, connections close.
 */
export function createApp(options: AppOptions): { app: Koa; router: Router; deps: RouteDeps } {
  const app = new Koa();
  app.silent = true; // errors are logged once, by errorMiddleware
  const router = new Router();
  const limiter = new TenantRateLimiter(options.rateLimit);
  const streams = new OpenStreams();
  const deps: RouteDeps = {
    services: options.services,
    streams,
    tenant: (op: Operation) => tenantGuard(op, options.services, limiter),
    rateLimit: (address) => limiter.consume(address),
  };
  const metrics = new HttpMetrics();
  healthRoutes(router, options.health, metrics);
  databaseRoutes(router, deps);
  adminRoutes(router, deps);
  keyRoutes(router, deps);
  factRoutes(router, deps);
  scopeRoutes(router, deps);
  ruleRoutes(router, deps);
  contextRoutes(router, deps);
  eventRoutes(router, deps);
  mcpRoutes(router, deps, { logger: options.logger });

  app.use(drainMiddleware(options.health.ready));
  app.use(metrics.middleware());
  app.use(requestIdMiddleware);
  app.use(errorMiddleware(options.logger));
  app.use(pathAddressMiddleware);
  // Every body is JSON, whatever the Content-Type (curl -d sends form-urlencoded by default).
  app.use(bodyErrors(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: options.maxBody, jsonStrict: true })));
  app.use(authenticationMiddleware(options.services, options.authEnabled));
  app.use(notFoundMiddleware);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router, deps };
}

/**
 * While shutting down (not ready), close each connection once its response is sent: server.close()
 * only closes the connections idle at that moment, so a keep-alive client would otherwise hold the
 * shutdown open until its idle timeout, and could keep sending new requests on that connection.
 */
function drainMiddleware(ready: () => boolean): Middleware {
  return async (ctx, next) => {
    await next();
    if (!ready()) ctx.set('Connection', 'close');
  };
}
