import type { Router } from '@koa/router';
import { RetractSchema, TellSchema } from '../../contract/facts.js';
import { parseInput } from '../../contract/parse.js';
import { presentFact, presentProof } from '../../contract/present.js';
import { AskSchema } from '../../contract/query.js';
import { contextUri } from '../../service/address.js';
import type { AnswerFact, AskResult } from '../../service/query.js';
import { guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

function presentAnswerFact(fact: AnswerFact, context: string) {
  if (fact.kind === 'stored') return presentFact(fact.fact, context);
  const derived = { predicate: fact.predicate, args: fact.args, negated: false, scope: fact.scope, derived: true, $context: context };
  return fact.proof ? { ...derived, proof: presentProof(fact.proof) } : derived;
}

/** Single pattern: each result is the fact plus its bindings; conjunctive: bindings plus the matched facts. */
function presentAsk(result: AskResult, context: string) {
  if (result.results.length === 0 && result.cursor === null) return { results: [] };
  const results = result.results.map((answer) =>
    result.conjunctive
      ? { bindings: answer.bindings, facts: answer.facts.map((f) => presentAnswerFact(f, context)) }
      : { ...presentAnswerFact(answer.facts[0] as AnswerFact, context), bindings: answer.bindings },
  );
  return { results, cursor: result.cursor };
}

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
