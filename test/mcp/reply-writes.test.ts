// Issue 18: the SSE reply to an MCP tool call leaves in one write, its headers with its first event.
import { connect } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { type TestServer, startTestServer } from '../helpers/server.js';

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-tenant-id': 'writes' };

/** POST over a raw socket; resolves to the chunks as they arrived, once the reply is complete. */
function rawPost(url: string, path: string, headers: Record<string, string>, body: string): Promise<string[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: string[] = [];
    socket.on('data', (data) => {
      chunks.push(data.toString('utf8'));
      // Chunked encoding's last chunk: the reply is complete.
      if (chunks.join('').endsWith('0\r\n\r\n')) {
        socket.end();
        resolve(chunks);
      }
    });
    socket.on('error', reject);
    const head = Object.entries({ ...headers, host: `${hostname}:${port}`, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n${body}`);
  });
}

test('MCP › a tool call over Streamable HTTP › its reply arrives with its headers and its event together', async (t) => {
  const { url } = t.context.server;
  // Enough facts that the answer is not ready within the tick the headers used to be flushed in.
  const facts = Array.from({ length: 1000 }, (_, i) => ({ predicate: 'knows', args: [`u${i}`, `u${i + 1}`] }));
  const told = await fetch(`${url}/tell`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ facts }) });
  t.is(told.status, 200, await told.text());
  const init = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id') ?? '';
  const withSession = { ...HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await (await fetch(`${url}/mcp`, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ask', arguments: { query: [{ predicate: 'knows', args: ['?x', '?y'] }, { predicate: 'knows', args: ['?y', '?z'] }], limit: 10000 } } });
  const chunks = await rawPost(url, '/mcp', withSession, call);
  const first = chunks[0] ?? '';
  t.regex(first, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(first, /content-type: text\/event-stream/i, 'still an SSE stream');
  t.regex(first, /\r\n\r\n[\s\S]*event: message\r?\ndata: \{"result"/, `the first chunk carries the event too: ${JSON.stringify(first.slice(0, 300))}`);
});
