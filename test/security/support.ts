import { type Api, type Headers, type Reply, type TestServer, api, startTestServer } from '../helpers/server.js';

/** The admin key every security test server runs with (auth enabled). */
export const ADMIN_KEY = 'test-admin-key-0123456789';

/** A Vesper server with auth enabled; no rate limits (of requests or of refusals), so that a 429 never hides a 403. */
export function startSecureServer(options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<TestServer> {
  const env = { VESPER_ADMIN_KEY: ADMIN_KEY, VESPER_RATE_LIMIT: '0', VESPER_AUTH_FAILURE_LIMIT: '0', ...options.env };
  return startTestServer(env, options.dataDir === undefined ? {} : { dataDir: options.dataDir });
}

export function bearer(key: string): Headers {
  return { Authorization: `Bearer ${key}` };
}

/** A client that sends the admin key with every request. */
export function adminApi(url: string): Api {
  return api(url, bearer(ADMIN_KEY));
}

export type Role = 'reader' | 'writer' | 'admin';

export interface KeySpec {
  readonly role: Role;
  readonly databases?: readonly string[] | null;
  readonly tenants?: readonly string[] | null;
  readonly public?: boolean;
  readonly expiresAt?: number | null;
  readonly description?: string;
  readonly name?: string;
}

export interface CreatedKey {
  readonly id: string;
  /** The secret token, as shown once in the create reply. */
  readonly key: string;
  readonly reply: Reply;
}

/** Create an API key with the admin key; fails loudly unless 201. */
export async function createKey(url: string, spec: KeySpec): Promise<CreatedKey> {
  const reply = await adminApi(url).post('/auth/keys', spec);
  if (reply.status !== 201) throw new Error(`key creation failed with ${reply.status}: ${reply.text}`);
  return { id: reply.json.id, key: reply.json.key, reply };
}

export async function revokeKey(url: string, id: string): Promise<void> {
  const reply = await adminApi(url).request('DELETE', `/auth/keys/${id}`);
  if (reply.status !== 200) throw new Error(`revocation failed with ${reply.status}: ${reply.text}`);
}

/** Insist on a status while setting up state; the failure names what was being set up. */
export async function expectStatus(what: string, reply: Promise<Reply>, status: number): Promise<Reply> {
  const r = await reply;
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  return r;
}

/** Run `work` over `items` with at most `limit` in flight; results keep the order of `items`. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
