import { randomUUID } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { RateLimitedError, ValidationError, type VesperError } from '../../domain/errors.js';
import { McpConnections } from '../../mcp/connections.js';
import { checkLegacyBody, checkStreamableBody } from '../../mcp/messages.js';
import { buildMcpServer } from '../../mcp/server.js';
import { DEFAULT_TENANT, type McpSession, sessionAddress } from '../../mcp/session.js';
import type { ServerInfo } from '../../operations/index.js';
import { authorize } from '../../service/authorization.js';
import { databaseOf, namesTenant, tenantAddressOf } from '../addressing.js';
import { principalOf } from '../auth.js';
import type { Refused } from '../refusals.js';
import type { RawHandlers } from '../router.js';
import type { RouteDeps } from './deps.js';

export interface McpRouteOptions {
  readonly logger?: Logger;
  readonly server: ServerInfo;
  /** Sessions with no request for this long are closed (default 5 minutes; 0 = never). */
  readonly idleMs?: number;
  /** Open sessions (both transports) one key may hold; 0 = no cap (default 100). */
  readonly maxSessionsPerKey?: number;
  /** Tool calls refused inside a session (401/403/429) go to the security log and metrics. */
  readonly onRefused?: (error: VesperError, who: Refused) => void;
}

const DEFAULT_IDLE_MS = 5 * 60_000;
const DEFAULT_MAX_SESSIONS_PER_KEY = 100;

/**
 * Who a request is, for MCP: the authenticated principal, the database (X-Database or path,
 * default `default`) and the tenant (X-Tenant-ID or path, default `default`).
 */
function callerOf(ctx: Context): McpSession {
  const principal = principalOf(ctx);
  const named = namesTenant(ctx);
  const address = named ? tenantAddressOf(ctx) : { database: databaseOf(ctx), tenant: DEFAULT_TENANT };
  return { database: address.database, tenant: address.tenant, principal };
}

/** A new session needs at least read access to its tenant: a key for another tenant is refused up front (403). */
function openSession(ctx: Context): McpSession {
  const session = callerOf(ctx);
  authorize(session.principal, 'ask', session);
  return session;
}

/**
 * Hand the raw request to an SDK transport. The body parser has read the stream already, so the
 * parsed body goes along; koa stays out of the response, and the route returns only once the
 * response is over, so nothing after it (the 404 fallback) can touch a response in flight.
 */
async function serve(ctx: Context, handle: () => Promise<void>): Promise<void> {
  ctx.respond = false;
  try {
    await handle();
  } catch (error) {
    if (!ctx.res.headersSent) ctx.respond = true;
    throw error;
  }
  if (!ctx.res.writableEnded) await finished(ctx.res).catch(() => undefined);
}

/**
 * The reply to a POST is an SSE stream holding the answers to its messages. The SDK's Node adapter
 * flushes the stream's headers on their own before the first answer is ready, a write (a syscall)
 * of its own per tool call; held back, the headers leave with the first event, in the same write.
 * The bytes on the wire are the same. GET streams keep the early flush (they may wait long for an event).
 */
function headersWithFirstEvent(ctx: Context): void {
  if (ctx.method === 'POST') ctx.res.flushHeaders = () => undefined;
}

/** The path prefix the client used (`/db/x/~acme` in the path form), so the SSE endpoint it is sent back keeps it. */
function pathPrefix(ctx: Context): string {
  const original = ctx.originalUrl.split('?')[0] ?? '';
  return original.endsWith(ctx.path) ? original.slice(0, original.length - ctx.path.length) : '';
}

/**
 * MCP over HTTP: Streamable HTTP at `/mcp` (stateful, one McpServer per session id) and the
 * legacy SSE transport at `GET /mcp/sse` + `POST /mcp/messages?sessionId=…`. A session is bound
 * to the key, database and tenant of the request that opened it; later requests must match.
 */
export function mcpHandlers({ services, streams, rateLimit }: RouteDeps, options: McpRouteOptions): RawHandlers {
  const logger = options.logger;
  const connectionOptions = { idleMs: options.idleMs ?? DEFAULT_IDLE_MS, onError: (err: unknown) => logger?.warn({ err }, 'closing an MCP session failed') };
  const streamable = new McpConnections<StreamableHTTPServerTransport>(services.access, connectionOptions);
  const legacy = new McpConnections<SSEServerTransport>(services.access, connectionOptions);
  streams.add(() => Promise.all([streamable.closeAll(), legacy.closeAll()]));
  const maxPerKey = options.maxSessionsPerKey ?? DEFAULT_MAX_SESSIONS_PER_KEY;

  const refusedIn = (ctx: Context, session: McpSession) => (error: VesperError) =>
    options.onRefused?.(error, { ip: ctx.ip, keyId: session.principal.id, database: session.database, tenant: session.tenant, via: 'mcp' });

  /** A new session spends one request of its tenant's budget and needs room under its key's cap. */
  const admit = async (session: McpSession): Promise<void> => {
    await rateLimit(sessionAddress(session));
    const id = session.principal.id;
    if (maxPerKey > 0 && streamable.countFor(id) + legacy.countFor(id) >= maxPerKey) {
      throw new RateLimitedError(60, `this key already has ${maxPerKey} open MCP sessions: close one (DELETE /mcp) or let one idle out`, {
        maxSessionsPerKey: maxPerKey,
      });
    }
  };

  const streamableHttp = async (ctx: Context): Promise<void> => {
    const sessionId = ctx.get('mcp-session-id');
    if (sessionId !== '') {
      const { transport, release } = streamable.use(sessionId, callerOf(ctx), ctx.method === 'GET');
      try {
        if (ctx.method === 'POST') checkStreamableBody(ctx.request.body);
        headersWithFirstEvent(ctx);
        await serve(ctx, () => transport.handleRequest(ctx.req, ctx.res, ctx.request.body));
      } finally {
        release();
      }
      return;
    }
    if (ctx.method !== 'POST' || !isInitializeRequest(ctx.request.body)) {
      throw new ValidationError('an MCP session starts with a POST of an initialize request; later requests carry its Mcp-Session-Id header');
    }
    const session = openSession(ctx);
    await admit(session);
    const server = buildMcpServer(services, session, { logger, rateLimit, server: options.server, onRefused: refusedIn(ctx, session) });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => streamable.add(id, session, transport, () => server.close()),
      onsessionclosed: (id) => streamable.remove(id),
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) streamable.remove(transport.sessionId);
    };
    await server.connect(transport);
    await serve(ctx, () => transport.handleRequest(ctx.req, ctx.res, ctx.request.body));
  };

  const sse = async (ctx: Context): Promise<void> => {
    const session = openSession(ctx);
    await admit(session);
    const server = buildMcpServer(services, session, { logger, rateLimit, server: options.server, onRefused: refusedIn(ctx, session) });
    await serve(ctx, async () => {
      const transport = new SSEServerTransport(`${pathPrefix(ctx)}/mcp/messages`, ctx.res);
      legacy.add(transport.sessionId, session, transport, () => server.close());
      transport.onclose = () => legacy.remove(transport.sessionId);
      await server.connect(transport); // writes the headers and the `endpoint` event
    });
  };

  const messages = async (ctx: Context): Promise<void> => {
    const sessionId = typeof ctx.query.sessionId === 'string' ? ctx.query.sessionId : '';
    if (sessionId === '') throw new ValidationError('the sessionId query parameter is required (from the endpoint event of GET /mcp/sse)');
    const { transport, release } = legacy.use(sessionId, callerOf(ctx));
    try {
      // The transport answers a body it cannot take in plain text: refuse it here, in the envelope.
      if (!ctx.is('application/json')) throw new ValidationError('an MCP message is sent as application/json');
      checkLegacyBody(ctx.request.body);
      await serve(ctx, () => transport.handlePostMessage(ctx.req, ctx.res, ctx.request.body));
    } finally {
      release();
    }
  };
  return { mcpPost: streamableHttp, mcpGet: streamableHttp, mcpDelete: streamableHttp, mcpSse: sse, mcpMessages: messages };
}
