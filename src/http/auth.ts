import type { Context, Next } from 'koa';
import { UnauthorizedError, VesperError } from '../domain/errors.js';
import { OPEN_PRINCIPAL, type Principal } from '../domain/principal.js';
import type { TenantAddress } from '../service/address.js';
import { type Operation, authorize } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { databaseOf, namesTenant, tenantAddressOf } from './addressing.js';
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
  const withKey = async (ctx: Context, next: Next): Promise<void> => {
    if (!publicPaths.has(ctx.path)) {
      const key = presentedKey(ctx);
      if (key === null && (services.sandbox as Services["sandbox"] | undefined)?.enabled === true) {
        // Progressive access: the tenant guard decides what an anonymous request may reach.
        ctx.state.principal = services.sandbox.anonymous();
        ctx.state.anonymous = true;
        return next();
      }
      if (key === null) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
      await services.keys.refresh(key);
      const principal = services.keys.authenticate(key);
      if (principal === null) throw new UnauthorizedError('invalid, revoked or expired API key');
      ctx.state.principal = principal;
    }
    await next();
  };
  // Open mode (no admin key): every caller is admin, nothing to wait for.
  return authEnabled
    ? withKey
    : (ctx: Context, next: Next) => {
        ctx.state.principal = OPEN_PRINCIPAL;
        return next();
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
export function tenantGuard(operation: Operation, services: Services, limiter: TenantRateLimiter, audit?: string, makesSandbox = false) {
  // Not async itself: a request that makes no sandbox (all but an anonymous first write) pays one frame, guarded's.
  return (ctx: Context, next: Next): Promise<void> => {
    const makes = makesSandbox && ctx.state.anonymous === true && !namesTenant(ctx) && databaseOf(ctx) === services.sandbox.options.database;
    return makes ? withSandbox(ctx, next) : guarded(ctx, next);
  };

  async function withSandbox(ctx: Context, next: Next): Promise<void> {
    const sandbox = await openSandbox(ctx, services);
    try {
      await guarded(ctx, next);
    } catch (error) {
      // A sandbox is made by a first write: a tell that fails leaves none (no token, no tenant, no spent allowance).
      // After the guard, outside the tenant's gate: the deletion waits for the requests inside it.
      // A sandbox that cannot be discarded now is left to expire (the sweep): the tell's own error is the reply.
      await discardSandbox(ctx, services, sandbox).catch(() => undefined);
      throw error;
    }
  }

  async function guarded(ctx: Context, next: Next): Promise<void> {
    // A request that just made its sandbox acts on it (anonymousAddress), as the sandbox's key.
    const anonymous = ctx.state.anonymous === true || ctx.state.sandboxAddress !== undefined;
    const principal = principalOf(ctx);
    const named = anonymous ? anonymousAddress(ctx, services) : tenantAddressOf(ctx);
    // A literal, not a spread followed by `actor` (that takes V8's slow path on every request).
    const address: TenantAddress = { database: named.database, tenant: named.tenant, actor: principal.id };
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
  }
}

/**
 * An anonymous tell that names no tenant makes a sandbox: the request goes on as its new key, and
 * the key goes back in `X-Vesper-Sandbox` (never logged, never in the body).
 */
async function openSandbox(ctx: Context, services: Services): Promise<{ database: string; tenant: string }> {
  const sandbox = await services.sandbox.create(ctx.ip);
  ctx.state.principal = sandbox.principal;
  ctx.state.anonymous = false;
  ctx.state.sandboxAddress = { database: sandbox.database, tenant: sandbox.tenant };
  ctx.set('X-Vesper-Sandbox', sandbox.token);
  // The tenant to name (X-Tenant-ID) on later requests and MCP connections with that token.
  ctx.set('X-Vesper-Sandbox-Tenant', sandbox.tenant);
  return { database: sandbox.database, tenant: sandbox.tenant };
}

/** The tell that made a sandbox failed: the sandbox goes (tenant and key), its token is not sent, the allowance is given back. */
async function discardSandbox(ctx: Context, services: Services, sandbox: { database: string; tenant: string }): Promise<void> {
  ctx.remove('X-Vesper-Sandbox');
  ctx.remove('X-Vesper-Sandbox-Tenant');
  await services.sandbox.discard(sandbox.database, sandbox.tenant, ctx.ip);
}

const ANONYMOUS_REACH = 'an API key is required: Authorization: Bearer <key> or X-API-Key: <key> (without one, only the demo tenant can be read, and a tell naming no tenant makes a sandbox)';

/**
 * What an anonymous request acts on: the sandbox it just made, the demo tenant (named or not: it
 * is the anonymous default), and nothing else (401: a key is needed there). Writes to the demo
 * are refused by the principal's read-only grant (403).
 */
function anonymousAddress(ctx: Context, services: Services): Omit<TenantAddress, 'actor'> {
  const sandbox = ctx.state.sandboxAddress as Omit<TenantAddress, 'actor'> | undefined;
  if (sandbox) return sandbox;
  const { database, demoTenant } = services.sandbox.options;
  // The demo answers for its own database only: a request naming another must not be answered from it.
  if (databaseOf(ctx) !== database) throw new UnauthorizedError(ANONYMOUS_REACH);
  if (!namesTenant(ctx) && demoTenant !== null) return { database, tenant: demoTenant };
  const named = tenantAddressOf(ctx);
  if (named.database !== database || named.tenant !== demoTenant) throw new UnauthorizedError(ANONYMOUS_REACH);
  return named;
}

/**
 * A request whose body was refused before its route (not JSON, too large) still spends its
 * tenant's rate limit and carries the RateLimit fields, when its key may use that tenant at all:
 * the fields are on every reply of the tenant, and a flood of malformed bodies is limited too.
 * The reply stays the body's error (a 429 of the tier shows in the fields: r=0).
 */
export function bodyRefusedGuard(limiter: TenantRateLimiter) {
  return async (ctx: Context, address: TenantAddress): Promise<void> => {
    const principal = ctx.state.principal as Principal | undefined;
    if (principal === undefined || ctx.state.anonymous === true) return;
    try {
      authorize(principal, 'ask', address);
      await spendRequest(ctx, limiter, address);
    } catch {
      // Not this key's tenant, or over the limit (the fields are set): the body's error is the reply.
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
