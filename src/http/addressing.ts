import type { Context } from 'koa';
import type { RequestCheck } from './request-checks.js';
import { ValidationError } from '../domain/errors.js';
import { parseName } from '../domain/names.js';
import type { TenantAddress } from '../service/address.js';
import { DEFAULT_DATABASE } from '../store/catalog.js';
import { tenantOfHost } from './browser-guard.js';

/**
 * Addressing grammar (header and path forms are equivalent; when both are given they must agree):
 *   X-Database: <db>          | /db/<db>/…          default 'default'
 *   X-Tenant-ID: <tenant>     | /~<tenant>/…        required on data endpoints
 */
const PATH_FORM = /^(?:\/db\/([^/]+))?\/~([^/]+)(\/.*)?$/;

/** Strip the path form of an address before routing, remembering what it named. */
export function pathAddress(ctx: Context): void {
  const match = PATH_FORM.exec(ctx.path);
  if (match) {
    ctx.state.pathDatabase = match[1] === undefined ? undefined : decodeSegment('database', match[1]);
    ctx.state.pathTenant = decodeSegment('tenant', match[2] ?? '');
    ctx.path = match[3] ?? '/';
  }
}

/** A malformed percent-escape (`/~%ZZ/ask`) is bad input, not a URIError surfacing as a 500. */
function decodeSegment(kind: 'database' | 'tenant', segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError(`invalid ${kind} name in the path: malformed percent-encoding`, { field: kind });
  }
}

/** A header as sent: undefined when absent, '' when sent empty (an invalid name, not the default). */
function headerOf(ctx: Context, name: string): string | undefined {
  return ctx.headers[name] === undefined ? undefined : ctx.get(name);
}

function agree(kind: 'database' | 'tenant', header: string | undefined, path: string | undefined): string | undefined {
  if (path !== undefined && header !== undefined && header !== path) {
    throw new ValidationError(`the ${kind} in the path ('${path}') and in the header ('${header}') differ`, { [kind]: [path, header] });
  }
  return path ?? header;
}

/** The tenant of the Host (`{tenant}.<VESPER_BASE_HOST>`) must agree with the header and path when they name one. */
function agreeWithHost(named: string | undefined, host: string | undefined): string | undefined {
  if (named !== undefined && host !== undefined && named !== host) {
    throw new ValidationError(`the tenant of the Host ('${host}') and the one the request names ('${named}') differ`, { tenant: [host, named] });
  }
  return named ?? host;
}

/** Remember the tenant a `{tenant}.<baseHost>` Host names (routing by subdomain). */
export function hostAddress(baseHost: string | null | undefined): RequestCheck {
  return (ctx) => {
    ctx.state.hostTenant = tenantOfHost(ctx.get('host'), baseHost);
  };
}

/** Header, path or Host names a tenant. */
export function namesTenant(ctx: Context): boolean {
  return ctx.headers['x-tenant-id'] !== undefined || ctx.state.pathTenant !== undefined || ctx.state.hostTenant !== undefined;
}

export function databaseOf(ctx: Context): string {
  return parseName('database', agree('database', headerOf(ctx, 'x-database'), ctx.state.pathDatabase) ?? DEFAULT_DATABASE);
}

/** The tenant a data request acts on; REST requires it to be named. */
export function tenantAddressOf(ctx: Context): TenantAddress {
  // Read twice per request (the body limit, then the tenant guard); what the request names does not change in between.
  const named = ctx.state.namedAddress as TenantAddress | undefined;
  if (named !== undefined) return named;
  const database = databaseOf(ctx);
  const tenant = agreeWithHost(agree('tenant', headerOf(ctx, 'x-tenant-id'), ctx.state.pathTenant), ctx.state.hostTenant);
  if (tenant === undefined) throw new ValidationError('X-Tenant-ID header is required');
  const address = { database, tenant: parseName('tenant', tenant) };
  ctx.state.namedAddress = address;
  return address;
}
