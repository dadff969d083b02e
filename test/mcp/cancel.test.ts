import test from 'ava';
import { startTestServer, tenantApi } from '../helpers/server.js';
import { call, connect } from './client.js';

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';

// Issue 12: "a client that disconnects cancels its evaluation" — over MCP too, where cancelling is
// notifications/cancelled (the SDK sends it when the call's AbortSignal fires).
test('mcp › a tool call the client cancels › stops its evaluation and frees the tenant’s heavy slot', async (t) => {
  const server = await startTestServer({ VESPER_HEAVY_SLOTS_PER_TENANT: '1', VESPER_HEAVY_QUEUE_PER_TENANT: '0', VESPER_QUERY_TIMEOUT_MS: '60000', VESPER_QUERY_MAX_TUPLES: '0', VESPER_QUERY_MAX_ROWS: '0' });
  const rest = tenantApi(server.url, 'cancel');
  // A chain of 2,000 edges: its closure (2M pairs) takes seconds, far longer than this test waits.
  // reach(?x, ?x) holds for no node of a chain: with no answer to fill a page, `limit` cannot stop
  // the evaluation early (a page of reach(?x, ?y) fills within a few sources, and on a loaded
  // machine the call could end before the probe below ran).
  t.is((await rest.post('/tell', { facts: Array.from({ length: 2000 }, (_, i) => ({ predicate: 'edge', args: [i, i + 1] })) })).status, 200);
  t.is((await rest.post('/rules', { text: REACH })).status, 201);
  const client = await connect(server.url, 'streamable', { 'X-Tenant-ID': 'cancel' });
  try {
    const controller = new AbortController();
    const cancelled = client.callTool({ name: 'ask', arguments: { predicate: 'reach', args: ['?x', '?x'] } }, undefined, { signal: controller.signal, timeout: 120_000 });
    // While it runs, the tenant's only slot is taken: a second evaluation is refused.
    let busy = false;
    for (let i = 0; i < 300 && !busy; i++) {
      const second = await call(client, 'ask', { predicate: 'reach', args: [1490, '?y'] });
      busy = second.isError && second.json.code === 'RATE_LIMITED';
      if (!busy) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.true(busy, 'the long evaluation holds the slot');
    controller.abort();
    await t.throwsAsync(cancelled);
    // Once cancelled it stops within a slice: the slot is free long before the closure could end.
    let freed = false;
    for (let i = 0; i < 100 && !freed; i++) {
      const after = await call(client, 'ask', { predicate: 'reach', args: [1490, '?y'] });
      freed = !after.isError;
      if (!freed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.true(freed, 'the cancelled evaluation let go of the slot');
  } finally {
    await client.close();
    await server.close();
  }
});
