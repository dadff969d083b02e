import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export type TransportKind = 'streamable' | 'sse';
export const TRANSPORTS: readonly TransportKind[] = ['streamable', 'sse'];

/** The SDK's own client over one of the two transports, with the headers of an MCP client config. */
export async function connect(url: string, kind: TransportKind, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'vesper-test', version: '0.0.0' });
  const requestInit = { headers };
  const transport =
    kind === 'streamable'
      ? new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit })
      : new SSEClientTransport(new URL('/mcp/sse', url), { requestInit });
  await client.connect(transport);
  return client;
}

export interface ToolReply {
  readonly isError: boolean;
  readonly json: any;
}

/** Call a tool; its single text content parsed as JSON. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolReply> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  if (first?.type !== 'text') throw new Error(`tool ${name} returned no text content`);
  return { isError: result.isError === true, json: JSON.parse(first.text) };
}

/** Call a tool that must succeed. */
export async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const reply = await call(client, name, args);
  if (reply.isError) throw new Error(`tool ${name} failed: ${JSON.stringify(reply.json)}`);
  return reply.json;
}
