import { ERROR_TYPES } from '../../src/contract/envelope.js';
import type { Tool } from './cases.js';

/**
 * The MCP side of the fuzzer: sessions its cases run in, and the check of what comes back over
 * JSON-RPC (a tool failure is an `isError` result carrying the envelope; an internal error is a bug).
 */

const ADDRESS = { 'x-tenant-id': 't1', 'x-database': 'default' };
const ACCEPT = 'application/json, text/event-stream';

/** The JSON-RPC messages of an SSE body (`data:` lines). */
export function sseMessages(text: string): unknown[] {
  const messages: unknown[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    try {
      messages.push(JSON.parse(line.slice(5).trim()));
    } catch {
      // the endpoint event of the legacy transport is a bare path, not JSON
    }
  }
  return messages;
}

/** What is wrong with one JSON-RPC message from the server, or null. */
export function mcpProblemOf(message: any): string | null {
  if (message === null || typeof message !== 'object') return 'a JSON-RPC message that is not an object';
  if (message.error !== undefined) {
    if (message.error?.code === -32603) return `JSON-RPC internal error: ${String(message.error?.message).slice(0, 200)}`;
    return null;
  }
  const result = message.result;
  if (result?.isError !== true) return null;
  let body: any;
  try {
    body = JSON.parse(result.content?.[0]?.text);
  } catch {
    return 'an isError tool result whose text is not the JSON envelope';
  }
  const keys = body !== null && typeof body === 'object' ? Object.keys(body).sort().join(',') : typeof body;
  if (keys !== 'code,details,message,type') return `an isError tool result that is not the envelope (keys ${keys})`;
  if (body.code === 'INTERNAL_ERROR' || body.code === 'DATA_CORRUPTED') return `tool result ${body.code}`;
  if (!Object.hasOwn(ERROR_TYPES, body.code)) return `tool result with unknown code ${JSON.stringify(body.code)}`;
  return null;
}

/** A JSON-RPC error object: the MCP transports' own refusals (406 on a wrong Accept, …). */
export function isJsonRpcError(text: string): boolean {
  try {
    const body = JSON.parse(text);
    return body?.jsonrpc === '2.0' && typeof body.error?.code === 'number' && typeof body.error?.message === 'string';
  } catch {
    return false;
  }
}

async function rpc(url: string, session: string | null, message: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: ACCEPT, ...ADDRESS };
  if (session !== null) headers['mcp-session-id'] = session;
  return fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify(message) });
}

/** A Streamable HTTP session on tenant t1, initialised, and the tools it offers. */
export async function openSession(url: string): Promise<{ id: string; tools: Tool[] }> {
  const init = await rpc(url, null, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } });
  const id = init.headers.get('mcp-session-id');
  await init.text();
  if (init.status !== 200 || id === null) throw new Error(`MCP initialize answered ${init.status}`);
  await (await rpc(url, id, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  const list = await rpc(url, id, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const [reply] = sseMessages(await list.text()) as { result?: { tools?: Tool[] } }[];
  return { id, tools: reply?.result?.tools ?? [] };
}

export interface SseSession {
  readonly id: string;
  /** Problems seen in the messages the stream carried. */
  readonly problems: string[];
  close(): void;
}

/** A legacy SSE session on tenant t1; its stream is read (and checked) until closed. */
export async function openSseSession(url: string): Promise<SseSession> {
  const abort = new AbortController();
  const response = await fetch(`${url}/mcp/sse`, { headers: { accept: 'text/event-stream', ...ADDRESS }, signal: abort.signal });
  if (response.status !== 200 || response.body === null) throw new Error(`GET /mcp/sse answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let id: string | null = null;
  while (id === null) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the SSE stream ended before its endpoint event');
    buffer += value;
    id = /sessionId=([^\s&]+)/.exec(buffer)?.[1] ?? null;
  }
  const problems: string[] = [];
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const end = buffer.lastIndexOf('\n\n');
      if (end < 0) continue;
      for (const message of sseMessages(buffer.slice(0, end))) {
        const problem = mcpProblemOf(message);
        if (problem !== null) problems.push(problem);
      }
      buffer = buffer.slice(end + 2);
    }
  })().catch(() => undefined);
  return { id: decodeURIComponent(id), problems, close: () => abort.abort() };
}
