import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, type CallToolResult, ErrorCode, ListToolsRequestSchema, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { parseInput } from '../contract/parse.js';
import { ValidationError, VesperError } from '../domain/errors.js';
import type { TenantAddress } from '../service/address.js';
import { type Operation, authorize } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { VERSION } from '../version.js';
import { toolInputSchema } from './json-schema.js';
import { registerResources } from './resources.js';
import { type McpSession, sessionAddress } from './session.js';
import { errorResult, jsonResult } from './tool-result.js';
import type { ToolDefinition } from './tools/define.js';
import { TOOLS } from './tools/index.js';

export interface McpServerOptions {
  /** Where unexpected failures (INTERNAL_ERROR) are logged. */
  readonly logger?: Logger;
  /** The tenant's request budget, shared with REST: throws RATE_LIMITED (an isError result) when spent. */
  readonly rateLimit?: (address: TenantAddress) => Promise<void>;
}

/** Failed writes go to the tenant's audit trail, as on REST (src/http/auth.ts). */
const AUDITED: ReadonlySet<Operation> = new Set(['tell', 'retract', 'rules.write', 'scopes.write']);

/** Argument names that would name a tenant: refused with a message saying where the tenant comes from. */
const ADDRESSING_ARGS = ['tenant', 'tenantId', 'tenant_id', 'database', 'db'];

const TOOL_LIST: Tool[] = TOOLS.map((tool) => ({
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: toolInputSchema(tool.schema, tool.advertise),
  ...(tool.annotations ? { annotations: { title: tool.title, ...tool.annotations } } : {}),
}));
const BY_NAME = new Map(TOOLS.map((tool) => [tool.name, tool]));

function instructions(session: McpSession): string {
  return [
    `Vesper is a fact store with rules. This connection is bound to tenant '${session.tenant}' of database '${session.database}':`,
    'every tool reads and writes that tenant only, and no argument can change it.',
    'Store what you learn with tell, look it up with ask ("?x" variables), teach rules to derive facts, fork scopes to try hypotheses,',
    'and use context_optimize / context_diff to load a compact working memory. Results are JSON; failures have isError and a JSON {code, message}.',
  ].join(' ');
}

/**
 * One MCP server per connection (the SDK's Protocol serves one transport), its tools bound to the
 * session's tenant and principal. Tools are served through the low-level handlers so that every
 * failure, invalid arguments included, is an `isError` result carrying the JSON error envelope.
 */
export function buildMcpServer(services: Services, session: McpSession, options: McpServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'vesper', version: VERSION }, { capabilities: { tools: {}, resources: {} }, instructions: instructions(session) });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));
  server.server.setRequestHandler(CallToolRequestSchema, (request) => {
    const tool = BY_NAME.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool '${request.params.name}': tools are ${TOOLS.map((t) => t.name).join(', ')}`);
    return callTool(services, session, tool, request.params.arguments ?? {}, options);
  });
  registerResources(server, services, session);
  return server;
}

async function callTool(services: Services, session: McpSession, tool: ToolDefinition, args: Record<string, unknown>, options: McpServerOptions): Promise<CallToolResult> {
  const address = sessionAddress(session);
  const logger = options.logger;
  try {
    authorize(session.principal, tool.operation, address);
    await options.rateLimit?.(address);
    const named = ADDRESSING_ARGS.filter((name) => name in args);
    if (named.length > 0) {
      throw new ValidationError(`'${named.join("', '")}' cannot be a tool argument: the tenant and database of an MCP connection come from its X-Tenant-ID and X-Database headers`, {
        fields: named,
      });
    }
    const input = parseInput(tool.schema, args, `arguments of ${tool.name}`);
    return jsonResult(await tool.run(services, address, input));
  } catch (error) {
    if (AUDITED.has(tool.operation) && error instanceof VesperError) await services.audit.recordFailure(address, tool.operation, error).catch(() => undefined);
    if (!(error instanceof VesperError)) logger?.error({ err: error, tool: tool.name, tenant: session.tenant }, 'MCP tool failed');
    return errorResult(error);
  }
}
