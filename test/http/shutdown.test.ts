import test from 'ava';
import { spawnServer } from '../helpers/child.js';
import { makeDataDir } from '../helpers/server.js';

test('SIGTERM › with a change stream open › the stream is ended and the process exits 0 without waiting for its timeout', async (t) => {
  // A shutdown timeout far above the test's own timeout: passing means the open stream did not hold the exit.
  const server = await spawnServer(await makeDataDir(), { VESPER_SHUTDOWN_TIMEOUT_MS: '600000' });
  const response = await fetch(`${server.url}/events`, { headers: { 'X-Tenant-ID': 'watcher' } });
  t.is(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the stream is open
  server.kill('SIGTERM');
  let text = '';
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  t.regex(text, /server shutting down/);
  t.deepEqual(await server.exited, { code: 0, signal: null });
});
