import { z } from 'zod';
import { NameSchema, PredicateSchema } from '../contract/facts.js';
import { READS, rawOperation } from './define.js';

/*
 * Operations served by a transport of their own. Their rows document them (OpenAPI) and admit
 * them to the router; the HTTP layer supplies one handler per row and refuses to start without it.
 */

export const EventsQuerySchema = z.object({
  since: z.coerce.number().int().min(0).optional().describe('replay the events after this sequence number (Last-Event-ID wins)'),
  scope: NameSchema.optional(),
  predicate: PredicateSchema.optional(),
  /** Milliseconds between keepalive comments, for clients behind proxies with short idle timeouts (and tests). */
  keepalive: z.coerce.number().int().min(100).max(300_000).optional(),
});

export const events = rawOperation({
  name: 'events',
  method: 'GET',
  path: '/events',
  summary: "The tenant's changes as Server-Sent Events (replay with since / Last-Event-ID, then live)",
  access: { on: 'tenant', permission: 'events.read' },
  input: EventsQuerySchema,
  produces: 'text/event-stream',
  effects: READS,
});

export const openapi = rawOperation({
  name: 'openapi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This document (no key needed)',
  access: { on: 'public' },
  input: null,
  produces: 'application/json',
  effects: READS,
});

export const metrics = rawOperation({
  name: 'metrics',
  method: 'GET',
  path: '/metrics',
  summary: 'Prometheus metrics',
  access: { on: 'service', permission: 'ops.read' },
  input: null,
  produces: 'text/plain',
  effects: READS,
});

const MCP_EFFECTS = { readOnly: false, destructive: true, idempotent: false } as const;

export const mcpPost = rawOperation({
  name: 'mcpPost',
  method: 'POST',
  path: '/mcp',
  summary: 'MCP Streamable HTTP: JSON-RPC messages (an initialize request opens a session)',
  access: { on: 'session' },
  input: null,
  produces: 'application/json',
  effects: MCP_EFFECTS,
});

export const mcpGet = rawOperation({
  name: 'mcpGet',
  method: 'GET',
  path: '/mcp',
  summary: "MCP Streamable HTTP: the session's server-to-client stream",
  access: { on: 'session' },
  input: null,
  produces: 'text/event-stream',
  effects: READS,
});

export const mcpDelete = rawOperation({
  name: 'mcpDelete',
  method: 'DELETE',
  path: '/mcp',
  summary: 'MCP Streamable HTTP: end the session',
  access: { on: 'session' },
  input: null,
  produces: 'application/json',
  effects: { readOnly: false, destructive: false, idempotent: true },
});

export const mcpSse = rawOperation({
  name: 'mcpSse',
  method: 'GET',
  path: '/mcp/sse',
  summary: 'MCP over the legacy SSE transport: opens a session; its endpoint event names /mcp/messages',
  access: { on: 'session' },
  input: null,
  produces: 'text/event-stream',
  effects: READS,
});

export const mcpMessages = rawOperation({
  name: 'mcpMessages',
  method: 'POST',
  path: '/mcp/messages',
  summary: 'MCP over the legacy SSE transport: a JSON-RPC message for the session (?sessionId=)',
  access: { on: 'session' },
  input: z.object({ sessionId: z.string().describe('from the endpoint event of GET /mcp/sse') }),
  produces: 'application/json',
  effects: MCP_EFFECTS,
});

const TenantPath = z.strictObject({ db: NameSchema, name: NameSchema });

/** The export's query: `sessions=false` leaves the context sessions out (the "sessions optional"). */
export const ExportQuery = z.strictObject({
  sessions: z.enum(['true', 'false']).optional().describe('false: leave the context sessions out (default true)'),
});

export const exportTenant = rawOperation({
  name: 'exportTenant',
  method: 'GET',
  path: '/admin/databases/{db}/tenants/{name}/export',
  summary: 'A tenant as JSON lines (format 3), streamed: header, layers, scopes (chains, merge bases, cutoffs), rules, each layer\'s entries, their logged versions, sessions (unless sessions=false), access counts, end line with the counts',
  access: { on: 'database', permission: 'admin.database' },
  input: TenantPath.extend(ExportQuery.shape),
  produces: 'application/x-ndjson',
  effects: READS,
});

export const importTenant = rawOperation({
  name: 'importTenant',
  method: 'POST',
  path: '/admin/databases/{db}/tenants/{name}/import',
  summary: 'Restore an export (JSON lines body) into an empty tenant: all of it, or nothing and the first bad line (400)',
  access: { on: 'database', permission: 'admin.database' },
  input: TenantPath,
  consumes: 'application/x-ndjson',
  produces: 'application/json',
  status: 201,
  effects: { readOnly: false, destructive: false, idempotent: false },
});
