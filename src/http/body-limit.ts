import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import type { Services } from '../service/services.js';
import type { TenantAddress } from '../service/address.js';
import { tenantAddressOf } from './addressing.js';
import { bodyErrors } from './errors.js';

/**
 * The JSON body parser, with the size limit of the request's tenant (its maxBodyBytes setting)
 * when the request names one, else the server's. One parser per distinct limit, made once.
 * Every body is JSON, whatever the Content-Type (curl -d sends form-urlencoded by default):
 * browsers' text/plain "simple requests" are stopped by the Origin check of browserGuard.
 */
export function tenantBodyParser(
  services: Services,
  serverLimit: number,
  streamed: (method: string, path: string) => boolean = () => false,
  /** A body refused (not JSON, too large) of a request naming a tenant: the tenant's request all the same (its rate limit). */
  refused: (ctx: Context, address: TenantAddress) => Promise<void> = () => Promise.resolve(),
): Middleware {
  const parsers = new Map<number, Middleware>();
  const parserFor = (limit: number): Middleware => {
    let parser = parsers.get(limit);
    if (!parser) {
      parser = bodyErrors(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: limit, jsonStrict: true }));
      parsers.set(limit, parser);
    }
    return parser;
  };
  return async (ctx: Context, next: Next) => {
    if (streamed(ctx.method, ctx.path)) return next();
    const address = bodyAddress(ctx);
    // The tenant's settings are cached for most requests: no wait then.
    const cached = address === null ? undefined : services.settings.cachedFor(address.database, address.tenant);
    const limit = address === null ? serverLimit : cached ? cached.maxBodyBytes : (await services.settings.forTenant(address.database, address.tenant)).maxBodyBytes;
    let downstream = false;
    try {
      await parserFor(limit)(ctx, () => {
        downstream = true;
        return next();
      });
    } catch (error) {
      if (!downstream && address !== null) await refused(ctx, address);
      throw error;
    }
  };
}

/** The tenant a request with a body names (null: none, a control request, or a bad address that the route refuses). */
function bodyAddress(ctx: Context): TenantAddress | null {
  if (ctx.method !== 'POST' && ctx.method !== 'PUT' && ctx.method !== 'PATCH') return null;
  try {
    return tenantAddressOf(ctx);
  } catch {
    return null;
  }
}
