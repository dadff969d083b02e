import { type TestServer, startTestServer } from '../helpers/server.js';

/**
 * The server the fuzzer runs against: open mode, with the per-tenant rate limit, the refusal limit
 * and the MCP session cap off, so that thousands of requests from one client keep reaching the
 * operations (those limits have their own tests).
 */
export async function startFuzzServer(): Promise<{ server: TestServer; document: Record<string, any> }> {
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0', VESPER_AUTH_FAILURE_LIMIT: '0', VESPER_MCP_MAX_SESSIONS_PER_KEY: '0', VESPER_GROUP_COMMIT_MS: '5' });
  const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Record<string, any>;
  return { server, document };
}
