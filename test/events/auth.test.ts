import anyTest, { type TestFn } from 'ava';
import { type TestServer, api, startTestServer } from '../helpers/server.js';
import { openStream } from './stream.js';

const ADMIN_KEY = 'events-test-admin-key-0123456789';
const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startTestServer({ VESPER_ADMIN_KEY: ADMIN_KEY });
});
test.after.always(async (t) => {
  await t.context.server.close();
});

const admin = (url: string) => api(url, { Authorization: `Bearer ${ADMIN_KEY}` });

test('GET /events › auth › no key is a 401; a key for another tenant a 403; a reader may listen', async (t) => {
  const { url } = t.context.server;
  t.is((await api(url).get('/events', { 'X-Tenant-ID': 'acme' })).status, 401);
  const { key } = (await admin(url).post('/auth/keys', { role: 'reader', tenants: ['acme'] })).json;
  t.is((await api(url).get('/events', { 'X-Tenant-ID': 'globex', Authorization: `Bearer ${key}` })).status, 403);
  const stream = await openStream(`${url}/events`, { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
  t.is(stream.status, 200);
  stream.close();
});

test('GET /events › revoking the key › ends the stream', async (t) => {
  const { url } = t.context.server;
  const { id, key } = (await admin(url).post('/auth/keys', { role: 'reader', tenants: ['acme'] })).json;
  const stream = await openStream(`${url}/events`, { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` });
  try {
    await stream.waitForComment(/connected/);
    t.is((await admin(url).request('DELETE', `/auth/keys/${id}`)).status, 200);
    await stream.waitForComment(/revoked/);
    await stream.ended;
    t.is((await api(url).get('/events', { 'X-Tenant-ID': 'acme', Authorization: `Bearer ${key}` })).status, 401);
  } finally {
    stream.close();
  }
});
