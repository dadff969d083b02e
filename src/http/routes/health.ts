import type { Router } from '@koa/router';
import { operationGuard as adminGuardFor } from '../auth.js';
import type { HttpMetrics } from '../metrics.js';
import { openApiDocument } from '../openapi.js';

export interface HealthInfo {
  readonly version: string;
  readonly auth: 'enabled' | 'open';
  ready(): boolean;
}

export function healthRoutes(router: Router, info: HealthInfo, metrics: HttpMetrics): void {
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', version: info.version, auth: info.auth };
  });
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(info.version);
  });
  router.get('/metrics', adminGuardFor('ops.read'), async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  router.get('/ready', adminGuardFor('ops.read'), (ctx) => {
    const ready = info.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready };
  });
}
