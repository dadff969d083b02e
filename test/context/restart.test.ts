import test from 'ava';
import { tellOk } from '../helpers/facts.js';
import { startTestServer, tenantApi } from '../helpers/server.js';
import { diff } from './support.js';

test('POST /context/diff › sessions survive a restart of the server on the same data', async (t) => {
  const first = await startTestServer();
  const before = tenantApi(first.url, 'persisted');
  await tellOk(before, { facts: [{ predicate: 'p', args: [1] }, { predicate: 'p', args: [2] }] });
  const window = await diff(before, { sessionId: 'long-thread' });
  await first.close({ keepData: true });
  const second = await startTestServer({}, { dataDir: first.dataDir });
  try {
    const after = await diff(tenantApi(second.url, 'persisted'), { sessionId: 'long-thread' });
    t.is(after.previousWindowId, window.currentWindowId);
    t.is(after.reason, null);
    t.is(after.unchanged, 2);
    t.deepEqual(after.added, []);
  } finally {
    await second.close();
  }
});
