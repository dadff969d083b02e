import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Services } from '../service/services.js';
import { pathAddressMiddleware } from './addressing.js';
import { bodyErrors, errorMiddleware, notFoundMiddleware } from './errors.js';
import { requestIdMiddleware } from './request-id.js';
import { databaseRoutes } from './routes/databases.js';
import { factRoutes } from './routes/facts.js';
import { type HealthInfo, healthRoutes } from './routes/health.js';
import { ruleRoutes } from './routes/rules.js';
import { scopeRoutes } from './routes/scopes.js';

export interface AppOptions {
  readonly services: Services;
  readonly logger: Logger;
  readonly health: HealthInfo;
  readonly maxBody: string;
}

/** The koa application: request id → errors → path addressing → JSON body → 404/405 → routes. */
export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged once, by errorMiddleware
  const router = new Router();
  healthRoutes(router, options.health);
  databaseRoutes(router, options.services);
  factRoutes(router, options.services);
  scopeRoutes(router, options.services);
  ruleRoutes(router, options.services);

  app.use(requestIdMiddleware);
  app.use(errorMiddleware(options.logger));
  app.use(pathAddressMiddleware);
  // Every body is JSON, whatever the Content-Type (curl -d sends form-urlencoded by default).
  app.use(bodyErrors(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: options.maxBody, jsonStrict: true })));
  app.use(notFoundMiddleware);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
