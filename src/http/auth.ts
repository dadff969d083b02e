import type { Context, Next } from 'koa';
import { UnauthorizedError, VesperError } from '../domain/errors.js';
import { OPEN_PRINCIPAL, type Principal } from '../domain/principal.js';
import type { TenantAddress } from '../service/address.js';
import { type Operation, authorize } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { tenantAddressOf } from './addressing.js';
import { type TenantRateLimiter, TierLimitedError } from './rate-limit.js';


/** The key of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
function presentedKey(ctx: Context): string | null {
  const header = ctx.get('authorization');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1] ?? null;
  const apiKey = ctx.get('x-api-key').trim();
  return apiKey === '' ? null : apiKey;
}

/**
 * Step 2 of a request, before its body is read: key → principal (or 401). With no admin key
 * configured every caller is admin. `publicPaths` (the public rows of the operation table) need no key.
 */
export function authenticationMiddleware(services: Services, authEnabled: boolean, publicPaths: ReadonlySet<string>) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!authEnabled) ctx.state.principal = OPEN_PRINCIPAL;
    else if (!publicPaths.has(ctx.path)) {
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

/**
 * Steps 3–5 for a tenant route: address (header or path) → authorisation (role × databases ×
 * tenants) → rate limit. The handler reads the address with `guardedAddress`. Failures of an
 * operation with an `audit` label go to the tenant's audit trail under that label.
 */
export function tenantGuard(operation: Operation, services: Services, limiter: TenantRateLimiter, audit?: string) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const principal = principalOf(ctx);
    const address: TenantAddress = { ...tenantAddressOf(ctx), actor: principal.id };
    // Inside the tenant's gate before authorising: a deletion waits for this request, or this request for it.
    const leave = services.access.enter(address);
    try {
      // Refused requests (403, 429) are not the target tenant's business: they go to the security log, not its trail.
      authorize(principal, operation, address);
      await spendRequest(ctx, limiter, address);
      ctx.state.address = address;
      try {
        await next();
      } catch (error) {
        if (audit !== undefined && error instanceof VesperError) await services.audit.recordFailure(address, audit, error).catch(() => undefined);
        throw error;
      }
    } finally {
      leave();
    }
  };
}

/** The tenant's rate limit, its RateLimit header fields on the reply whether it passes or is refused. */
async function spendRequest(ctx: Context, limiter: TenantRateLimiter, address: TenantAddress): Promise<void> {
  try {
    const headers = await limiter.consume(address);
    if (headers) ctx.set(headers);
  } catch (error) {
    if (error instanceof TierLimitedError) ctx.set(error.headers);
    throw error;
  }
}

export function guardedAddress(ctx: Context): TenantAddress {
  const address = ctx.state.address as TenantAddress | undefined;
  if (!address) throw new TypeError('tenant route without tenantGuard');
  return address;
}
