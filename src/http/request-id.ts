import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo the client's X-Request-ID (when sane) or mint one, so logs and replies can be matched. */
export async function requestIdMiddleware(ctx: Context, next: Next): Promise<void> {
  const given = ctx.get('x-request-id');
  const id = VALID.test(given) ? given : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-ID', id);
  await next();
}
