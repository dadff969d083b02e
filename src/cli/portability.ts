import { createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Connection, connectFetch, headersOf, replyError } from './client.js';
import { rowOf } from './commands.js';

/** `vesper export` and `vesper import`: the tenant's export streamed to stdout, a file (or stdin) streamed to import. */
export const EXPORT = { operation: 'exportTenant', synopsis: 'export > FILE.jsonl   (the tenant, as JSON lines)', options: [] as const };
export const IMPORT = { operation: 'importTenant', synopsis: 'import <FILE.jsonl|->   (into an empty tenant)', options: [] as const };

function pathOf(operation: string, connection: Connection): string {
  return rowOf(operation)
    .path.replace('{db}', encodeURIComponent(connection.database))
    .replace('{name}', encodeURIComponent(connection.tenant));
}

export async function exportTenant(connection: Connection, out: Writable): Promise<void> {
  const response = await connectFetch(connection, pathOf('exportTenant', connection), { headers: headersOf(connection) });
  if (!response.ok || response.body === null) throw await replyError(response);
  await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), out, { end: false });
}

export async function importTenant(connection: Connection, file: string): Promise<unknown> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  // Node's web ReadableStream (node:stream/web) is what fetch streams from at run time, but the
  // DOM typing of RequestInit['body'] names a different ReadableStream type, and `duplex` (required
  // by Node for a streamed body) is not in that typing: both casts bridge types, not values.
  const init = { method: 'POST', headers: headersOf(connection, { 'Content-Type': 'application/x-ndjson' }), body: Readable.toWeb(input) as unknown as RequestInit['body'], duplex: 'half' } as RequestInit;
  const response = await connectFetch(connection, pathOf('importTenant', connection), init);
  if (!response.ok) throw await replyError(response);
  return response.json();
}
