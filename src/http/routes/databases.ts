import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { grants } from '../../domain/principal.js';
import { parseName } from '../../domain/names.js';
import { adminGuard, principalOf } from '../auth.js';
import type { RouteDeps } from './deps.js';

/** Databases (the control plane): `/admin/databases` and its `/databases` alias. */
export function databaseRoutes(router: Router, { services }: RouteDeps): void {
  const create = async (ctx: Context) => {
    const { database, created } = await services.databases.create((ctx.request.body as { name?: unknown } | undefined)?.name);
    ctx.status = created ? 201 : 200;
    ctx.body = { ...database, created };
  };
  const list = (ctx: Context) => {
    const principal = principalOf(ctx);
    ctx.body = { databases: services.databases.list().filter((d) => grants(principal.databases, d.name)) };
  };
  const drop = async (ctx: Context & { params: Record<string, string> }) => {
    const name = parseName('database', ctx.params.db);
    await services.databases.drop(name);
    ctx.body = { deleted: true, name };
  };
  for (const base of ['/databases', '/admin/databases']) {
    router.post(base, adminGuard('admin.global'), create);
    router.get(base, adminGuard('admin.database'), list);
    router.delete(`${base}/:db`, adminGuard('admin.global'), drop);
  }
}
