import type { Router } from '@koa/router';
import { ClearSessionSchema, ContextDiffSchema, OptimizeSchema } from '../../contract/context.js';
import { presentDiff, presentWindow } from '../../service/replies.js';
import { parseInput } from '../../contract/parse.js';
import { contextUri } from '../../service/address.js';
import { guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

/** Context windows for agents: optimize, diff against a session's last window, clear a session (reader role). */
export function contextRoutes(router: Router, { services, tenant }: RouteDeps): void {
  router.post('/context/optimize', tenant('context.read'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(OptimizeSchema, ctx.request.body);
    ctx.body = presentWindow(await services.context.optimize(address, body), contextUri(address));
  });

  router.post('/context/diff', tenant('context.read'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(ContextDiffSchema, ctx.request.body);
    ctx.body = presentDiff(await services.context.diff(address, body), contextUri(address));
  });

  router.post('/context/session/clear', tenant('context.read'), async (ctx) => {
    const address = guardedAddress(ctx);
    const { sessionId } = parseInput(ClearSessionSchema, ctx.request.body);
    ctx.body = { cleared: await services.context.clearSession(address, sessionId), sessionId };
  });
}
