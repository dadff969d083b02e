import type { Router } from '@koa/router';
import { parseInput } from '../../contract/parse.js';
import { presentDiffPage, presentMerge } from '../../service/replies.js';
import { DiffSchema, ForkSchema, MergeSchema } from '../../contract/scopes.js';
import { parseName } from '../../domain/names.js';
import { contextUri } from '../../service/address.js';
import { guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

export function scopeRoutes(router: Router, { services, tenant }: RouteDeps): void {
  router.get('/scopes', tenant('scopes.list'), async (ctx) => {
    const details = await services.scopes.list(guardedAddress(ctx));
    ctx.body = { scopes: details.map((d) => d.name), count: details.length, details };
  });

  router.post('/scope/fork', tenant('scopes.write'), async (ctx) => {
    const { source, target } = parseInput(ForkSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = await services.scopes.fork(guardedAddress(ctx), source, target);
  });

  router.post('/scope/diff', tenant('scopes.diff'), async (ctx) => {
    const address = guardedAddress(ctx);
    const { source, target, limit, cursor } = parseInput(DiffSchema, ctx.request.body);
    const page = await services.scopes.diff(address, source, target, limit, cursor);
    ctx.body = presentDiffPage(source, target, page, contextUri(address));
  });

  router.post('/scope/merge', tenant('scopes.write'), async (ctx) => {
    const address = guardedAddress(ctx);
    const { source, target, strategy } = parseInput(MergeSchema, ctx.request.body);
    const result = await services.scopes.merge(address, source, target, strategy);
    ctx.body = presentMerge(source, target, result, contextUri(address));
  });

  router.delete('/scope/:name', tenant('scopes.write'), async (ctx) => {
    ctx.body = await services.scopes.remove(guardedAddress(ctx), parseName('scope', ctx.params.name));
  });
}
