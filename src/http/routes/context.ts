import type { Router } from '@koa/router';
import { ClearSessionSchema, ContextDiffSchema, OptimizeSchema, presentDiff, presentWindow } from '../../contract/context.js';
import { parseInput } from '../../contract/parse.js';
import { contextUri } from '../../service/address.js';
import type { Services } from '../../service/services.js';
import { tenantAddressOf } from '../addressing.js';

/** Context windows for agents: optimize, diff against a session's last window, clear a session. */
export function contextRoutes(router: Router, services: Services): void {
  router.post('/context/optimize', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(OptimizeSchema, ctx.request.body);
    ctx.body = presentWindow(await services.context.optimize(address, body), contextUri(address));
  });

  router.post('/context/diff', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(ContextDiffSchema, ctx.request.body);
    ctx.body = presentDiff(await services.context.diff(address, body), contextUri(address));
  });

  router.post('/context/session/clear', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const { sessionId } = parseInput(ClearSessionSchema, ctx.request.body);
    ctx.body = { cleared: await services.context.clearSession(address, sessionId), sessionId };
  });
}
