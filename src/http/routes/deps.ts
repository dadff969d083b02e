import type { Middleware } from 'koa';
import type { TenantAddress } from '../../service/address.js';
import type { Operation } from '../../service/authorization.js';
import type { Services } from '../../service/services.js';
import type { OpenStreams } from '../streams.js';

/** What every route module is given: the services, and the guard for tenant routes. */
export interface RouteDeps {
  readonly services: Services;
  /**
   * Address → authorise `operation` → rate limit; the handler then reads `guardedAddress(ctx)`. Failures are audited under `audit` when given.
   * `makesSandbox`: a keyless request naming no tenant gets a sandbox (progressive access; the tell row only).
   */
  tenant(operation: Operation, audit?: string, makesSandbox?: boolean): Middleware;
  /** Spend one request of a tenant's budget (REST routes do it in `tenant`; MCP per tool call). */
  rateLimit(address: TenantAddress): Promise<void>;
  /** Long-lived responses register here so shutdown can end them. */
  readonly streams: OpenStreams;
}
