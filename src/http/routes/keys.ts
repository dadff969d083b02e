import type { Router } from '@koa/router';
import { ValidationError } from '../../domain/errors.js';
import { CreateKeySchema } from '../../contract/keys.js';
import { parseInput } from '../../contract/parse.js';
import { adminGuard } from '../auth.js';
import type { RouteDeps } from './deps.js';

const KEY_ID = /^key_[a-z0-9]{16}$/;

/** API keys (admin): the secret is in the create reply only. */
export function keyRoutes(router: Router, { services }: RouteDeps): void {
  router.post('/auth/keys', adminGuard('admin.global'), async (ctx) => {
    const body = parseInput(CreateKeySchema, ctx.request.body);
    const { key, secret } = await services.keys.create({
      role: body.role,
      databases: body.databases,
      tenants: body.tenants,
      description: body.description ?? null,
      name: body.name ?? null,
      expiresAt: body.expiresAt,
      public: body.public,
    });
    ctx.status = 201;
    ctx.body = { ...key, key: secret };
  });

  router.get('/auth/keys', adminGuard('admin.global'), (ctx) => {
    ctx.body = { keys: services.keys.list() };
  });

  router.delete('/auth/keys/:id', adminGuard('admin.global'), async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!KEY_ID.test(id)) throw new ValidationError('invalid key id', { id });
    await services.keys.revoke(id);
    ctx.body = { revoked: true, id };
  });
}
