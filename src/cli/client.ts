import { CliError, EXIT } from './errors.js';

export interface Connection {
  readonly url: string;
  readonly database: string;
  readonly tenant: string;
  readonly key: string | undefined;
}

export interface ErrorReply {
  readonly code?: string;
  readonly message?: string;
}

/** The headers of every request: the address of the tenant and the key. */
export function headersOf(connection: Connection, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'X-Database': connection.database, 'X-Tenant-ID': connection.tenant, ...extra };
  if (connection.key !== undefined) headers.Authorization = `Bearer ${connection.key}`;
  return headers;
}

/** fetch that turns "nobody answers" into exit code 3. */
export async function connectFetch(connection: Connection, path: string, init: RequestInit): Promise<Response> {
  let target: URL;
  try {
    target = new URL(path, connection.url);
  } catch {
    throw new CliError(EXIT.usage, `invalid server URL: ${connection.url}`);
  }
  try {
    return await fetch(target, init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(EXIT.connect, `cannot connect to ${connection.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
}

/** A 4xx/5xx reply: its envelope's code and message, exit code 1. */
export async function replyError(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => '');
  let reply: ErrorReply = {};
  try {
    reply = JSON.parse(text) as ErrorReply;
  } catch {
    // not JSON: show the status line
  }
  const what = reply.code ? `${reply.code}: ${reply.message ?? ''}` : `HTTP ${response.status} ${text.slice(0, 200)}`;
  return new CliError(EXIT.server, what.trim());
}

/** One JSON request to the REST API. */
export async function request<T = unknown>(connection: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: headersOf(connection, body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await connectFetch(connection, path, init);
  if (!response.ok) throw await replyError(response);
  return (await response.json()) as T;
}

/** The route of an operation, as the table gives it. */
export interface OperationRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * Call an operation of the table: its path parameters are taken from the input, the rest goes
 * as the JSON body (POST, PUT, PATCH) or as the query string (GET, DELETE), as the server reads it.
 */
export function callOperation<T>(connection: Connection, route: OperationRoute, input: Record<string, unknown>): Promise<T> {
  const rest: Record<string, unknown> = { ...input };
  const path = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(String(value ?? ''));
  });
  if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') return request<T>(connection, route.method, path, rest);
  const query = new URLSearchParams(Object.entries(rest).map(([name, value]): [string, string] => [name, String(value)])).toString();
  return request<T>(connection, route.method, query === '' ? path : `${path}?${query}`);
}
