import type { Router } from '@koa/router';
import { RetractSchema, TellSchema } from '../../contract/facts.js';
import { parseInput } from '../../contract/parse.js';
import { presentAnswer, presentFact } from '../../contract/present.js';
import { AskSchema } from '../../contract/query.js';
import { ValidationError } from '../../domain/errors.js';
import { contextUri } from '../../service/address.js';
import type { Services } from '../../service/services.js';
import { tenantAddressOf } from '../addressing.js';

export function factRoutes(router: Router, services: Services): void {
  router.post('/tell', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(TellSchema, ctx.request.body);
    const stored = await services.facts.tell(address, body);
    const context = contextUri(address);
    ctx.body = { told: stored.length, facts: stored.map((f) => presentFact(f, context)) };
  });

  router.post('/retract', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(RetractSchema, ctx.request.body);
    ctx.body = { retracted: await services.facts.retract(address, body) };
  });

  router.post('/ask', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(AskSchema, ctx.request.body);
    if ('query' in body) throw new ValidationError('conjunctive queries need the rules engine');
    const { results, cursor } = await services.query.askPattern(address, body);
    const context = contextUri(address);
    ctx.body =
      results.length === 0 && cursor === null
        ? { results: [] }
        : { results: results.map((r) => presentAnswer(r.fact, r.bindings, context)), cursor };
  });
}
