import type { Context, Next } from 'koa';
import { UnauthorizedError, VesperError } from '../domain/errors.js';
import { OPEN_PRINCIPAL, type Principal } from '../domain/principal.js';
import type { TenantAddress } from '../service/address.js';
import { type Operation, authorize } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { databaseOf, tenantAddressOf } from './addressing.js';
import type { TenantRateLimiter } from './rate-limit.js';

/** Routes anyone may call, even with auth enabled (liveness probes). */
const PUBLIC_PATHS = new Set(['/health']);

/** The key of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
function presentedKey(ctx: Context): string | null {
  const header = ctx.get('authorization');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1] ?? null;
  const apiKey = ctx.get('x-api-key').trim();
  return apiKey === '' ? null : apiKey;
}

/** Step 2 of a request: key → principal (or 401). With no admin key configured every caller is admin. */
export function authenticationMiddleware(services: Services, authEnabled: boolean) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!authEnabled) ctx.state.principal = OPEN_PRINCIPAL;
    else if (!PUBLIC_PATHS.has(ctx.path)) {
      const key = presentedKey(ctx);
      if (key === null) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
      const principal = services.keys.authenticate(key);
      if (principal === null) throw new UnauthorizedError('invalid, revoked or expired API key');
      ctx.state.principal = principal;
    }
    await next();
  };
}

export function principalOf(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw new TypeError('route reached without authentication');
  return principal;
}

/** Operations whose failures go to the tenant's audit trail. */
const AUDITED: ReadonlySet<Operation> = new Set(['tell', 'retract', 'rules.write', 'scopes.write']);

/**
 * Steps 3–5 for a tenant route: address (header or path) → authorisation (role × databases ×
 * tenants) → rate limit. The handler reads the address with `guardedAddress`.
 */
export function tenantGuard(operation: Operation, services: Services, limiter: TenantRateLimiter) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const principal = principalOf(ctx);
    const address: TenantAddress = { ...tenantAddressOf(ctx), actor: principal.id };
    try {
      authorize(principal, operation, address);
      await limiter.consume(address);
      ctx.state.address = address;
      await next();
    } catch (error) {
      if (AUDITED.has(operation) && error instanceof VesperError) await services.audit.recordFailure(address, operation, error).catch(() => undefined);
      throw error;
    }
  };
}

/** Authorisation for routes on a database (a `:db` parameter) or on the whole service. */
export function adminGuard(operation: 'admin.database' | 'admin.global') {
  return async (ctx: Context, next: Next): Promise<void> => {
    const db = (ctx as Context & { params?: Record<string, string> }).params?.db;
    authorize(principalOf(ctx), operation, db === undefined ? {} : { database: db });
    await next();
  };
}

/** Authorisation for an operation on nothing in particular (metrics, readiness). */
export function operationGuard(operation: Operation) {
  return async (ctx: Context, next: Next): Promise<void> => {
    authorize(principalOf(ctx), operation, {});
    await next();
  };
}

/** Authorisation for reads that name a database but no tenant. */
export function databaseGuard(operation: Operation) {
  return async (ctx: Context, next: Next): Promise<void> => {
    authorize(principalOf(ctx), operation, { database: databaseOf(ctx) });
    await next();
  };
}

export function guardedAddress(ctx: Context): TenantAddress {
  const address = ctx.state.address as TenantAddress | undefined;
  if (!address) throw new TypeError('tenant route without tenantGuard');
  return address;
}
