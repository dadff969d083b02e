import type { Router } from '@koa/router';
import { RetractSchema, TellSchema } from '../../contract/facts.js';
import { parseInput } from '../../contract/parse.js';
import { presentFact } from '../../contract/present.js';
import { AskSchema } from '../../contract/query.js';
import { contextUri } from '../../service/address.js';
import { presentAsk } from '../../service/replies.js';
import { guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

export function factRoutes(router: Router, { services, tenant }: RouteDeps): void {
  router.post('/tell', tenant('tell'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(TellSchema, ctx.request.body);
    const stored = await services.facts.tell(address, body);
    const context = contextUri(address);
    ctx.body = { told: stored.length, facts: stored.map((f) => presentFact(f, context)) };
  });

  router.post('/retract', tenant('retract'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(RetractSchema, ctx.request.body);
    ctx.body = { retracted: await services.facts.retract(address, body) };
  });

  router.post('/ask', tenant('ask'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(AskSchema, ctx.request.body);
    ctx.body = presentAsk(await services.query.ask(address, body), contextUri(address));
  });
}
