import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, type CallToolResult, ErrorCode, ListToolsRequestSchema, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { ValidationError, VesperError } from '../domain/errors.js';
import { type HandledOperation, OPERATIONS, type ServerInfo, isHandled } from '../operations/index.js';
import type { TenantAddress } from '../service/address.js';
import type { Services } from '../service/services.js';
import { VERSION } from '../version.js';
import { toolInputSchema, toolOutputSchema } from './json-schema.js';
import { registerResources } from './resources.js';
import { type McpSession, sessionAddress } from './session.js';
import { errorResult, jsonResult } from './tool-result.js';

export interface McpServerOptions {
  /** Where unexpected failures (INTERNAL_ERROR) are logged. */
  readonly logger?: Logger | undefined;
  /** The tenant's request budget, shared with REST: throws RATE_LIMITED (an isError result) when spent. */
  readonly rateLimit?: (address: TenantAddress) => Promise<void>;
  readonly server: ServerInfo;
  /** A tool call refused (401/403/429): for the server's security log, never the tenant's audit trail. */
  readonly onRefused?: (error: VesperError) => void;
}

/** The argument naming an open transaction (X-Transaction-ID over REST). */
const TRANSACTION_ARG = 'transactionId';

/** Argument names that would name a tenant: refused with a message saying where the tenant comes from. */
const ADDRESSING_ARGS = ['tenant', 'tenantId', 'tenant_id', 'database', 'db'];

/** A tool is a tenant operation of the table with a `tool` spec, under its name and each alias. */
interface ToolBinding {
  readonly name: string;
  readonly operation: HandledOperation;
  readonly tool: Tool;
}

function bindings(): ToolBinding[] {
  const primary: ToolBinding[] = [];
  const aliases: ToolBinding[] = [];
  for (const operation of OPERATIONS) {
    if (!isHandled(operation) || operation.kind !== 'tenant' || !operation.tool) continue;
    const spec = operation.tool;
    const { readOnly, destructive, idempotent } = operation.effects;
    const tool: Tool = {
      name: spec.name,
      title: spec.title,
      description: spec.description,
      inputSchema: withTransaction(toolInputSchema(operation.input, { hide: spec.hide, describe: spec.describe }), operation.transactional === true),
      outputSchema: toolOutputSchema(operation.output),
      annotations: {
        title: spec.title,
        readOnlyHint: readOnly,
        ...(readOnly ? {} : { destructiveHint: destructive, idempotentHint: idempotent }),
        openWorldHint: false,
      },
    };
    primary.push({ name: spec.name, operation, tool });
    for (const alias of spec.aliases ?? []) {
      aliases.push({ name: alias, operation, tool: { ...tool, name: alias, description: `Same as "${spec.name}" (an alias kept for older clients).\n${spec.description}` } });
    }
  }
  return [...primary, ...aliases];
}

/** Every tool of a Vesper MCP session, in the order a model sees them; the aliases last. */
const TOOLS = bindings();
const TOOL_LIST: Tool[] = TOOLS.map((binding) => binding.tool);
const BY_NAME = new Map(TOOLS.map((binding) => [binding.name, binding]));

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
export function buildMcpServer(services: Services, session: McpSession, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'vesper', version: VERSION }, { capabilities: { tools: {}, resources: {} }, instructions: instructions(session) });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));
  server.server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const binding = BY_NAME.get(request.params.name);
    if (!binding) throw new McpError(ErrorCode.InvalidParams, `unknown tool '${request.params.name}': tools are ${TOOLS.map((t) => t.name).join(', ')}`);
    // extra.signal: the client cancelled the call (notifications/cancelled) or its connection closed.
    return callTool(services, session, binding, request.params.arguments ?? {}, options, extra.signal);
  });
  registerResources(server, services, session);
  return server;
}

async function callTool(services: Services, session: McpSession, binding: ToolBinding, args: Record<string, unknown>, options: McpServerOptions, signal: AbortSignal): Promise<CallToolResult> {
  let leave: () => void;
  try {
    // Inside the tenant's gate before the grants are checked: a tenant deletion waits for this call, or this call for it.
    leave = services.access.enter(sessionAddress(session));
  } catch (error) {
    return errorResult(error);
  }
  try {
    return await runTool(services, session, binding, args, options, signal);
  } finally {
    leave();
  }
}

async function runTool(services: Services, session: McpSession, { name, operation }: ToolBinding, args: Record<string, unknown>, options: McpServerOptions, signal: AbortSignal): Promise<CallToolResult> {
  const address = sessionAddress(session);
  const logger = options.logger;
  const permission = operation.access.on === 'tenant' ? operation.access.permission : 'admin.global';
  try {
    // The key's grants now, not when the session opened: it may have been narrowed or expired since.
    services.access.recheck(session.principal, permission, address);
    await options.rateLimit?.(address);
  } catch (error) {
    // Refused: not the target tenant's business, so not in its audit trail (issue 12 item 4).
    if (error instanceof VesperError) options.onRefused?.(error);
    else logger?.error({ err: error, tool: name, tenant: session.tenant }, 'MCP tool failed');
    return errorResult(error);
  }
  try {
    const named = ADDRESSING_ARGS.filter((arg) => arg in args);
    if (named.length > 0) {
      throw new ValidationError(`'${named.join("', '")}' cannot be a tool argument: the tenant and database of an MCP connection come from its X-Tenant-ID and X-Database headers`, {
        fields: named,
      });
    }
    const { transactionId, rest } = transactionOf(args, operation.transactional === true);
    const { output } = await operation.invoke(rest, { services, principal: session.principal, server: options.server, signal, transactionId }, address, `arguments of ${name}`);
    return jsonResult(output);
  } catch (error) {
    if (operation.audit !== undefined && error instanceof VesperError) await services.audit.recordFailure(address, operation.audit, error).catch(() => undefined);
    if (!(error instanceof VesperError)) logger?.error({ err: error, tool: name, tenant: session.tenant }, 'MCP tool failed');
    return errorResult(error);
  }
}


/** A transactional tool also takes `transactionId` (what X-Transaction-ID is over REST). */
function withTransaction(schema: Tool['inputSchema'], transactional: boolean): Tool['inputSchema'] {
  if (!transactional) return schema;
  const described = { type: 'string', description: 'The id tx_begin returned: the call joins that open transaction (writes are buffered until tx_commit, reads see them).' };
  return { ...schema, properties: { ...schema.properties, [TRANSACTION_ARG]: described } };
}

/** The transaction a call names, taken out of the arguments the operation parses. */
function transactionOf(args: Record<string, unknown>, transactional: boolean): { transactionId: string | undefined; rest: Record<string, unknown> } {
  if (!transactional || !(TRANSACTION_ARG in args)) return { transactionId: undefined, rest: args };
  const { [TRANSACTION_ARG]: id, ...rest } = args;
  if (typeof id !== 'string' || id === '') throw new ValidationError('transactionId must be the string tx_begin returned', { field: TRANSACTION_ARG });
  return { transactionId: id, rest };
}
