import { readFile } from 'node:fs/promises';
import anyTest, { type TestFn } from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

const ADMIN_KEY = 'readme-test-admin-key-0123456789';
const test = anyTest as TestFn<{ server: TestServer; config: { type: string; url: string; headers: Record<string, string> } }>;

/** The MCP client configuration block of the README section, as a client would read it. */
async function readmeConfig() {
  const text = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const block = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.includes('mcpServers'));
  if (!block) throw new Error('no mcpServers JSON block in README.md');
  const parsed = JSON.parse(block) as { mcpServers: Record<string, { type: string; url: string; headers: Record<string, string> }> };
  const entry = parsed.mcpServers.vesper;
  if (!entry) throw new Error('no "vesper" server in the block');
  return entry;
}

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY });
  t.context.config = await readmeConfig();
});
test.after.always(async (t) => {
  await t.context.server.close();
});

/** The README's url and headers, pointed at the test server and given a real key for its tenant. */
async function configured(t: { context: { server: TestServer; config: { url: string; headers: Record<string, string> } } }, path?: string) {
  const { config, server } = t.context;
  const tenant = config.headers['X-Tenant-ID'] ?? '';
  const created = await api(server.url, { Authorization: `Bearer ${ADMIN_KEY}` }).post('/auth/keys', { role: 'writer', tenants: [tenant] });
  const url = new URL(config.url);
  const target = new URL(path ?? url.pathname, server.url);
  const headers = { ...config.headers, Authorization: config.headers.Authorization?.replace(/vsp_sk_\w+/, created.json.key) ?? '' };
  return { target, headers, tenant };
}

test('README › the MCP client configuration block › is valid JSON of url + headers that connects as documented', async (t) => {
  const { config } = t.context;
  t.is(config.type, 'http');
  t.is(new URL(config.url).pathname, '/mcp');
  t.deepEqual(Object.keys(config.headers).sort(), ['Authorization', 'X-Database', 'X-Tenant-ID']);
  const { target, headers, tenant } = await configured(t);
  const client = new Client({ name: 'readme', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(target, { requestInit: { headers } }));
  try {
    const result = (await client.callTool({ name: 'tell', arguments: { predicate: 'hello', args: ['world'] } })) as any;
    t.falsy(result.isError);
    t.is(JSON.parse(result.content[0].text).facts[0].$context, `vesper://${config.headers['X-Database']}/~${tenant}`);
  } finally {
    await client.close();
  }
});

test('README › the same headers with the legacy SSE url › connect too', async (t) => {
  const { target, headers } = await configured(t, '/mcp/sse');
  const client = new Client({ name: 'readme-sse', version: '0.0.0' });
  await client.connect(new SSEClientTransport(target, { requestInit: { headers } }));
  try {
    const { tools } = await client.listTools();
    t.true(tools.some((tool) => tool.name === 'ask'));
  } finally {
    await client.close();
  }
});
