import type { Router } from '@koa/router';
import { parseInput } from '../../contract/parse.js';
import { presentFact } from '../../contract/present.js';
import { DiffSchema, ForkSchema, MergeSchema } from '../../contract/scopes.js';
import type { StoredFact } from '../../domain/fact.js';
import { parseName } from '../../domain/names.js';
import { contextUri } from '../../service/address.js';
import type { MergeConflict } from '../../scopes/merge.js';
import { guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

function presentConflicts(conflicts: MergeConflict[], context: string) {
  const fact = (f: StoredFact | null) => (f ? presentFact(f, context) : null);
  return conflicts.map((c) => ({ predicate: c.predicate, args: c.args, source: fact(c.source), target: fact(c.target) }));
}

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
    const context = contextUri(address);
    ctx.body = {
      source,
      target,
      onlyInSource: page.onlyInSource.map((f) => presentFact(f, context)),
      onlyInTarget: page.onlyInTarget.map((f) => presentFact(f, context)),
      inBoth: page.inBoth,
      conflicts: presentConflicts(page.conflicts, context),
      cursor: page.cursor,
    };
  });

  router.post('/scope/merge', tenant('scopes.write'), async (ctx) => {
    const address = guardedAddress(ctx);
    const { source, target, strategy } = parseInput(MergeSchema, ctx.request.body);
    const result = await services.scopes.merge(address, source, target, strategy);
    ctx.body = {
      source,
      target,
      result: result.kind,
      merged: result.merged,
      conflictsResolved: result.conflictsResolved,
      strategy: result.strategy,
      conflicts: presentConflicts(result.conflicts, contextUri(address)),
    };
  });

  router.delete('/scope/:name', tenant('scopes.write'), async (ctx) => {
    ctx.body = await services.scopes.remove(guardedAddress(ctx), parseName('scope', ctx.params.name));
  });
}
