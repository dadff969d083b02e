import type { Router } from '@koa/router';

export interface HealthInfo {
  readonly version: string;
  readonly auth: 'enabled' | 'open';
  ready(): boolean;
}

export function healthRoutes(router: Router, info: HealthInfo): void {
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', version: info.version, auth: info.auth };
  });
  router.get('/ready', (ctx) => {
    const ready = info.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready };
  });
}
