import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import type { Services } from '../service/services.js';
import { tenantAddressOf } from './addressing.js';
import { bodyErrors } from './errors.js';

/**
 * The JSON body parser, with the size limit of the request's tenant (its maxBodyBytes setting)
 * when the request names one, else the server's. One parser per distinct limit, made once.
 * Every body is JSON, whatever the Content-Type (curl -d sends form-urlencoded by default):
 * browsers' text/plain "simple requests" are stopped by the Origin check of browserGuard.
 */
export function tenantBodyParser(services: Services, serverLimit: number, streamed: (method: string, path: string) => boolean = () => false): Middleware {
  const parsers = new Map<number, Middleware>();
  const parserFor = (limit: number): Middleware => {
    let parser = parsers.get(limit);
    if (!parser) {
      parser = bodyErrors(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: limit, jsonStrict: true }));
      parsers.set(limit, parser);
    }
    return parser;
  };
  return (ctx: Context, next: Next) => {
    if (streamed(ctx.method, ctx.path)) return next();
    const known = limitOf(ctx, services, serverLimit);
    return known instanceof Promise ? known.then((limit) => parserFor(limit)(ctx, next)) : parserFor(known)(ctx, next);
  };
}

/** Synchronous when the tenant's settings are cached (most requests). */
function limitOf(ctx: Context, services: Services, serverLimit: number): number | Promise<number> {
  if (ctx.method !== 'POST' && ctx.method !== 'PUT' && ctx.method !== 'PATCH') return serverLimit;
  let address;
  try {
    address = tenantAddressOf(ctx);
  } catch {
    return serverLimit; // no tenant (a control request), or a bad address that the route refuses
  }
  const cached = services.settings.cachedFor(address.database, address.tenant);
  return cached ? cached.maxBodyBytes : services.settings.forTenant(address.database, address.tenant).then((s) => s.maxBodyBytes);
}
