import type { Context, Middleware } from 'koa';

/**
 * A step that only looks at a request before the rest of it runs (nothing to do afterwards):
 * several run in line in one middleware instead of a middleware each, so a request does not pay
 * an async frame and a promise per check. It throws to refuse the request; 'answered' means it
 * wrote the reply itself (a CORS preflight) and the request goes no further.
 */
export type RequestCheck = (ctx: Context) => void | 'answered';

export function checksMiddleware(checks: readonly RequestCheck[]): Middleware {
  return (ctx, next) => {
    for (const check of checks) if (check(ctx) === 'answered') return Promise.resolve();
    return next();
  };
}
