import { ClientRequestSchema, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { ValidationError } from '../domain/errors.js';

/**
 * Checks of an MCP request body before an SDK transport sees it. The SDK answers a request whose
 * params do not fit its schema (a tools/call whose `arguments` is not an object, an initialize
 * without clientInfo) or a resources/read of a URI that does not parse with JSON-RPC "internal
 * error" (-32603: its schema or `new URL` throws inside the handler), and the
 * legacy SSE transport answers any message it cannot parse with a plain-text 400. Bad input is a
 * 400 with the envelope instead, naming what is wrong without echoing the value.
 */

// The SDK's own schema of each client request, by method (unknown methods are its -32601).
const PARAMS: ReadonlyMap<string, { safeParse(value: unknown): { success: boolean } }> = new Map(
  ClientRequestSchema.options.map((schema) => [schema.shape.method.value, schema]),
);

function checkMessage(message: unknown, index: number | null, wholeMessage: boolean): void {
  const where = index === null ? {} : { index };
  if (wholeMessage && !JSONRPCMessageSchema.safeParse(message).success) {
    throw new ValidationError('the body is not a JSON-RPC 2.0 message', where);
  }
  if (message === null || typeof message !== 'object' || !('method' in message) || typeof message.method !== 'string') return;
  const method = message.method;
  const schema = PARAMS.get(method);
  if (schema !== undefined && !schema.safeParse(message).success) {
    throw new ValidationError(`invalid params of the MCP request ${method}`, { ...where, method });
  }
  const uri = method === 'resources/read' ? (message as { params?: { uri?: unknown } }).params?.uri : undefined;
  if (typeof uri === 'string' && !URL.canParse(uri)) throw new ValidationError('resources/read: the uri is not a URL', { ...where, method });
}

/** A Streamable HTTP POST body: one message or a batch; the transport answers malformed messages itself. */
export function checkStreamableBody(body: unknown): void {
  if (Array.isArray(body)) body.forEach((message, index) => checkMessage(message, index, false));
  else checkMessage(body, null, false);
}

/** A legacy SSE POST body: exactly one JSON-RPC message. */
export function checkLegacyBody(body: unknown): void {
  checkMessage(body, null, true);
}
