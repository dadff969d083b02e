import type { ExecutionContext } from 'ava';
import type { Reply } from './server.js';

/** What every error reply must be: JSON content type, the four envelope fields, the status of its code. */
export function assertError(t: ExecutionContext<any>, reply: Reply, status: number, code: string): void {
  t.is(reply.status, status, `expected ${status} ${code}, got ${reply.status}: ${reply.text.slice(0, 300)}`);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.truthy(reply.json, `error body is not JSON: ${reply.text.slice(0, 200)}`);
  t.deepEqual(Object.keys(reply.json ?? {}).sort(), ['code', 'details', 'message', 'type']);
  t.is(reply.json?.code, code);
  t.is(typeof reply.json?.message, 'string');
  t.is(typeof reply.json?.type, 'string');
  t.true(reply.json?.details === null || typeof reply.json?.details === 'object');
}
