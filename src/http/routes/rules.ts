import type { Router } from '@koa/router';
import { parseInput } from '../../contract/parse.js';
import { RulesTextSchema, TeachSchema } from '../../contract/rules.js';
import { ValidationError } from '../../domain/errors.js';
import { parseName } from '../../domain/names.js';
import { adminGuard, guardedAddress } from '../auth.js';
import type { RouteDeps } from './deps.js';

const RULE_ID = /^rule_[a-z0-9]{1,40}$/;

function ruleId(raw: string | undefined): string {
  if (raw === undefined || !RULE_ID.test(raw)) throw new ValidationError('invalid rule id', { id: raw ?? null });
  return raw;
}

export function ruleRoutes(router: Router, { services, tenant }: RouteDeps): void {
  router.post('/teach', tenant('rules.write'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(TeachSchema, ctx.request.body);
    const added = await services.rules.teach(address, { head: body.head, body: body.body }, body.scope ?? null);
    ctx.status = 201;
    ctx.body = { id: added.id, rule: added.rule, scope: added.scope };
  });

  router.post('/rules', tenant('rules.write'), async (ctx) => {
    const address = guardedAddress(ctx);
    const body = parseInput(RulesTextSchema, ctx.request.body);
    const added = await services.rules.addTenantText(address, body.text, body.scope ?? null);
    ctx.status = 201;
    ctx.body = { rules: added.map((r) => ({ id: r.id, rule: r.rule, scope: r.scope })) };
  });

  router.get('/rules', tenant('rules.list'), async (ctx) => {
    ctx.body = { rules: await services.rules.list(guardedAddress(ctx)) };
  });

  router.delete('/rules/:id', tenant('rules.write'), async (ctx) => {
    const id = ruleId(ctx.params.id);
    await services.rules.removeTenantRule(guardedAddress(ctx), id);
    ctx.body = { deleted: true, id };
  });

  router.get('/admin/databases/:db/rules', adminGuard('admin.database'), async (ctx) => {
    ctx.body = { rules: await services.rules.listDatabaseRules(parseName('database', ctx.params.db)) };
  });

  router.post('/admin/databases/:db/rules', adminGuard('admin.database'), async (ctx) => {
    const body = parseInput(RulesTextSchema.omit({ scope: true }), ctx.request.body);
    const added = await services.rules.addDatabaseText(parseName('database', ctx.params.db), body.text);
    ctx.status = 201;
    ctx.body = { rules: added.map((r) => ({ id: r.id, rule: r.rule, system: true })) };
  });

  router.delete('/admin/databases/:db/rules/:id', adminGuard('admin.database'), async (ctx) => {
    const id = ruleId(ctx.params.id);
    await services.rules.removeDatabaseRule(parseName('database', ctx.params.db), id);
    ctx.body = { deleted: true, id };
  });
}
