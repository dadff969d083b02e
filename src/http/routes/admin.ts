import type { Router } from '@koa/router';
import { z } from 'zod';
import { NameSchema } from '../../contract/facts.js';
import { parseInput } from '../../contract/parse.js';
import { parseName } from '../../domain/names.js';
import { adminGuard, guardedAddress, principalOf } from '../auth.js';
import type { RouteDeps } from './deps.js';

const CreateTenantSchema = z.strictObject({ name: NameSchema });
const AuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  since: z.coerce.number().int().min(0).default(0),
});

/** Tenants of a database (admin) and the audit trail of a tenant. */
export function adminRoutes(router: Router, { services, tenant }: RouteDeps): void {
  router.get('/admin/databases/:db/tenants', adminGuard('admin.database'), async (ctx) => {
    const database = parseName('database', ctx.params.db);
    ctx.body = { database, tenants: (await services.tenants.list(database)).map((name) => ({ name })) };
  });

  router.post('/admin/databases/:db/tenants', adminGuard('admin.database'), async (ctx) => {
    const database = parseName('database', ctx.params.db);
    const { name } = parseInput(CreateTenantSchema, ctx.request.body);
    const created = await services.tenants.create(database, name);
    if (created) await services.audit.recordAdmin({ database, tenant: name, actor: principalOf(ctx).id }, 'tenant_created', name);
    ctx.status = created ? 201 : 200;
    ctx.body = { database, name, created };
  });

  router.delete('/admin/databases/:db/tenants/:name', adminGuard('admin.database'), async (ctx) => {
    const database = parseName('database', ctx.params.db);
    const name = parseName('tenant', ctx.params.name);
    await services.tenants.delete(database, name);
    ctx.body = { deleted: true, database, name };
  });

  router.get('/audit', tenant('audit.read'), async (ctx) => {
    const { limit, since } = parseInput(AuditQuerySchema, ctx.query, 'query string');
    const events = await services.audit.read(guardedAddress(ctx), since, limit);
    ctx.body = { events, next: events.length > 0 ? (events[events.length - 1]?.seq ?? since) : since };
  });
}
