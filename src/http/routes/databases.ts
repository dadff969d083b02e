import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Services } from '../../service/services.js';

export function databaseRoutes(router: Router, services: Services): void {
  const create = async (ctx: Context) => {
    const { database, created } = await services.databases.create((ctx.request.body as { name?: unknown } | undefined)?.name);
    ctx.status = created ? 201 : 200;
    ctx.body = { ...database, created };
  };
  const list = (ctx: Context) => {
    ctx.body = { databases: services.databases.list() };
  };
  router.post('/databases', create);
  router.get('/databases', list);
  router.post('/admin/databases', create);
  router.get('/admin/databases', list);
}
