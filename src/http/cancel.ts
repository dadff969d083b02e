import type { Context } from 'koa';
import { RequestCancelledError } from '../domain/errors.js';

/**
 * Aborted when the client goes away before its reply is written, so a long evaluation stops
 * instead of computing an answer nobody reads. (`res` emits 'close' on completion too: only an
 * unfinished response counts.)
 */
export function disconnectSignal(ctx: Context): AbortSignal {
  const controller = new AbortController();
  // Asked for after the client left (the signal is made on demand): aborted already.
  if (ctx.res.closed) {
    if (!ctx.res.writableFinished) controller.abort(new RequestCancelledError());
    return controller.signal;
  }
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort(new RequestCancelledError());
  });
  return controller.signal;
}
