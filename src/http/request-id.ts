import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo the client's X-Request-ID (when sane) or mint one, so logs and replies can be matched. */
export function assignRequestId(ctx: Context): void {
  const given = ctx.get('x-request-id');
  const id = given !== '' && VALID.test(given) ? given : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-ID', id);
}
