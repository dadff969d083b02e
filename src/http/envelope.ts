import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { answerFailure } from './errors.js';
import type { HttpMetrics } from './metrics.js';
import type { RefusalGuard } from './refusals.js';
import { assignRequestId } from './request-id.js';

/**
 * The outermost frame of every request. What used to be five middlewares, in the same order,
 * in one async function: each koa middleware costs a frame, a bound dispatch function and a
 * promise per request, and these five run on every request (the serving path, issue 18).
 *   request id → refusal allowance → the rest of the app → a failure as its envelope (counted
 *   and logged first if it is a refusal) → the duration, by final status → while shutting
 *   down, the connection closes once the reply is sent.
 */
export function envelopeMiddleware(parts: { readonly ready: () => boolean; readonly metrics: HttpMetrics; readonly refusals: RefusalGuard; readonly logger: Logger }): Middleware {
  const { ready, metrics, refusals, logger } = parts;
  return async (ctx: Context, next) => {
    const start = process.hrtime.bigint();
    assignRequestId(ctx);
    try {
      try {
        const refused = refusals.before(ctx);
        if (refused !== undefined) await refused;
        await next();
      } catch (error) {
        await refusals.failed(ctx, error);
        throw error;
      }
    } catch (error) {
      answerFailure(ctx, error, logger);
    }
    metrics.observe(ctx, start);
    // server.close() only closes the connections idle at that moment: a kept-alive client would
    // otherwise hold the shutdown open until its idle timeout, and could keep sending requests.
    if (!ready()) ctx.set('Connection', 'close');
  };
}
