import type { Principal } from '../domain/principal.js';
import type { TenantAddress } from '../service/address.js';

/**
 * What one MCP connection is bound to, fixed when it is created (SSE GET or Streamable HTTP
 * initialize): the database and tenant from its headers and the principal of its key. Tools
 * take no tenant or database argument, so no call can reach another tenant.
 */
export interface McpSession {
  readonly database: string;
  readonly tenant: string;
  readonly principal: Principal;
}

/** The tenant address every tool of the session acts on, with the key id as the actor. */
export function sessionAddress(session: McpSession): TenantAddress {
  return { database: session.database, tenant: session.tenant, actor: session.principal.id };
}

/** `vesper://<database>/~<tenant>`: the prefix of the session's resource URIs. */
export function sessionUri(session: McpSession): string {
  return `vesper://${session.database}/~${session.tenant}`;
}

/** The tenant of a connection whose client sent no X-Tenant-ID (REST requires one; MCP configs often omit it). */
export const DEFAULT_TENANT = 'default';

/** A later request on a session must come from the same key for the same database and tenant. */
export function sameCaller(session: McpSession, caller: McpSession): boolean {
  return session.principal.id === caller.principal.id && session.database === caller.database && session.tenant === caller.tenant;
}
