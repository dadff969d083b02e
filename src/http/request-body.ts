import type { Context } from 'koa';
import { ValidationError } from '../domain/errors.js';

/** Methods whose requests carry no body here: a body on one is never read. */
const BODILESS = new Set(['GET', 'HEAD']);

/**
 * A GET with a body (the change stream, the legacy MCP SSE stream) is refused and its connection
 * closed: nobody reads that body, so the request never completes, and the socket stayed held for
 * the server's request timeout (~300 s) after the client left.
 */
export function bodilessCheck(ctx: Context): void {
  if (BODILESS.has(ctx.method) && hasBody(ctx)) {
    ctx.set('Connection', 'close');
    throw new ValidationError(`a ${ctx.method} request has no body`, { method: ctx.method });
  }
}

function hasBody(ctx: Context): boolean {
  if (ctx.get('transfer-encoding') !== '') return true;
  const length = ctx.get('content-length');
  return length !== '' && length !== '0';
}
