import { randomUUID } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Router } from '@koa/router';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { ValidationError } from '../../domain/errors.js';
import { McpConnections } from '../../mcp/connections.js';
import { buildMcpServer } from '../../mcp/server.js';
import { DEFAULT_TENANT, type McpSession } from '../../mcp/session.js';
import { authorize } from '../../service/authorization.js';
import { databaseOf, tenantAddressOf } from '../addressing.js';
import { principalOf } from '../auth.js';
import type { RouteDeps } from './deps.js';

export interface McpRouteOptions {
  readonly logger?: Logger;
  /** Streamable HTTP sessions with no request for this long are closed (default 30 minutes). */
  readonly idleMs?: number;
}

const DEFAULT_IDLE_MS = 30 * 60_000;

/**
 * Who a request is, for MCP: the authenticated principal, the database (X-Database or path,
 * default `default`) and the tenant (X-Tenant-ID or path, default `default`).
 */
function callerOf(ctx: Context): McpSession {
  const principal = principalOf(ctx);
  const named = ctx.headers['x-tenant-id'] !== undefined || ctx.state.pathTenant !== undefined;
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
export function mcpRoutes(router: Router, { services, streams, rateLimit }: RouteDeps, options: McpRouteOptions = {}): void {
  const logger = options.logger;
  const streamable = new McpConnections<StreamableHTTPServerTransport>(services.keys.revocations, { idleMs: options.idleMs ?? DEFAULT_IDLE_MS });
  const legacy = new McpConnections<SSEServerTransport>(services.keys.revocations);
  streams.add(() => Promise.all([streamable.closeWhere(() => true), legacy.closeWhere(() => true)]));

  router.all('/mcp', async (ctx) => {
    const sessionId = ctx.get('mcp-session-id');
    if (sessionId !== '') {
      const { transport, release } = streamable.use(sessionId, callerOf(ctx));
      try {
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
    const server = buildMcpServer(services, session, { logger, rateLimit });
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
  });

  router.get('/mcp/sse', async (ctx) => {
    const session = openSession(ctx);
    const server = buildMcpServer(services, session, { logger, rateLimit });
    await serve(ctx, async () => {
      const transport = new SSEServerTransport(`${pathPrefix(ctx)}/mcp/messages`, ctx.res);
      legacy.add(transport.sessionId, session, transport, () => server.close());
      transport.onclose = () => legacy.remove(transport.sessionId);
      await server.connect(transport); // writes the headers and the `endpoint` event
    });
  });

  router.post('/mcp/messages', async (ctx) => {
    const sessionId = typeof ctx.query.sessionId === 'string' ? ctx.query.sessionId : '';
    if (sessionId === '') throw new ValidationError('the sessionId query parameter is required (from the endpoint event of GET /mcp/sse)');
    const { transport, release } = legacy.use(sessionId, callerOf(ctx));
    try {
      await serve(ctx, () => transport.handlePostMessage(ctx.req, ctx.res, ctx.request.body));
    } finally {
      release();
    }
  });
}
