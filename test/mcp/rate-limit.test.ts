import test from 'ava';
import { startTestServer } from '../helpers/server.js';
import { call, connect } from './client.js';

test('mcp › tool calls › spend the tenant’s request budget like REST: past it, isError RATE_LIMITED', async (t) => {
  const server = await startTestServer({ VESPER_RATE_LIMIT: '5' });
  const client = await connect(server.url, 'streamable', { 'X-Tenant-ID': 'limited' });
  try {
    const replies = await Promise.all(Array.from({ length: 12 }, () => call(client, 'ask', { predicate: 'p', args: ['?x'] })));
    const limited = replies.filter((r) => r.isError && r.json?.code === 'RATE_LIMITED');
    t.true(limited.length > 0, 'some calls are refused');
    t.true(replies.some((r) => !r.isError), 'calls within the budget succeed');
  } finally {
    await client.close();
    await server.close();
  }
});
