import type { Router } from '@koa/router';
import { parseInput } from '../../contract/parse.js';
import { RulesTextSchema, TeachSchema } from '../../contract/rules.js';
import { ValidationError } from '../../domain/errors.js';
import { parseName } from '../../domain/names.js';
import type { Services } from '../../service/services.js';
import { tenantAddressOf } from '../addressing.js';

const RULE_ID = /^rule_[a-z0-9]{1,40}$/;

function ruleId(raw: string | undefined): string {
  if (raw === undefined || !RULE_ID.test(raw)) throw new ValidationError('invalid rule id', { id: raw ?? null });
  return raw;
}

export function ruleRoutes(router: Router, services: Services): void {
  router.post('/teach', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(TeachSchema, ctx.request.body);
    const added = await services.rules.teach(address, { head: body.head, body: body.body }, body.scope ?? null);
    ctx.status = 201;
    ctx.body = { id: added.id, rule: added.rule, scope: added.scope };
  });

  router.post('/rules', async (ctx) => {
    const address = tenantAddressOf(ctx);
    const body = parseInput(RulesTextSchema, ctx.request.body);
    const added = await services.rules.addTenantText(address, body.text, body.scope ?? null);
    ctx.status = 201;
    ctx.body = { rules: added.map((r) => ({ id: r.id, rule: r.rule, scope: r.scope })) };
  });

  router.get('/rules', async (ctx) => {
    ctx.body = { rules: await services.rules.list(tenantAddressOf(ctx)) };
  });

  router.delete('/rules/:id', async (ctx) => {
    const id = ruleId(ctx.params.id);
    await services.rules.removeTenantRule(tenantAddressOf(ctx), id);
    ctx.body = { deleted: true, id };
  });

  router.get('/admin/databases/:db/rules', async (ctx) => {
    ctx.body = { rules: await services.rules.listDatabaseRules(parseName('database', ctx.params.db)) };
  });

  router.post('/admin/databases/:db/rules', async (ctx) => {
    const body = parseInput(RulesTextSchema.omit({ scope: true }), ctx.request.body);
    const added = await services.rules.addDatabaseText(parseName('database', ctx.params.db), body.text);
    ctx.status = 201;
    ctx.body = { rules: added.map((r) => ({ id: r.id, rule: r.rule, system: true })) };
  });

  router.delete('/admin/databases/:db/rules/:id', async (ctx) => {
    const id = ruleId(ctx.params.id);
    await services.rules.removeDatabaseRule(parseName('database', ctx.params.db), id);
    ctx.body = { deleted: true, id };
  });
}
