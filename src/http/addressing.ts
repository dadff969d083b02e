import type { Context, Next } from 'koa';
import { ValidationError } from '../domain/errors.js';
import { parseName } from '../domain/names.js';
import type { TenantAddress } from '../service/address.js';
import { DEFAULT_DATABASE } from '../store/catalog.js';

/**
 * Addressing grammar (header and path forms are equivalent; when both are given they must agree):
 *   X-Database: <db>          | /db/<db>/…          default 'default'
 *   X-Tenant-ID: <tenant>     | /~<tenant>/…        required on data endpoints
 */
const PATH_FORM = /^(?:\/db\/([^/]+))?\/~([^/]+)(\/.*)?$/;

/** Strip the path form of an address before routing, remembering what it named. */
export async function pathAddressMiddleware(ctx: Context, next: Next): Promise<void> {
  const match = PATH_FORM.exec(ctx.path);
  if (match) {
    ctx.state.pathDatabase = match[1] === undefined ? undefined : decodeSegment('database', match[1]);
    ctx.state.pathTenant = decodeSegment('tenant', match[2] ?? '');
    ctx.path = match[3] ?? '/';
  }
  await next();
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

export function databaseOf(ctx: Context): string {
  return parseName('database', agree('database', headerOf(ctx, 'x-database'), ctx.state.pathDatabase) ?? DEFAULT_DATABASE);
}

/** The tenant a data request acts on; REST requires it to be named. */
export function tenantAddressOf(ctx: Context): TenantAddress {
  const database = databaseOf(ctx);
  const tenant = agree('tenant', headerOf(ctx, 'x-tenant-id'), ctx.state.pathTenant);
  if (tenant === undefined) throw new ValidationError('X-Tenant-ID header is required');
  return { database, tenant: parseName('tenant', tenant) };
}
