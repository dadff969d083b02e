import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { type StorageOverrides, startServer } from '../../src/server.js';
import { backendEnv, dropBackendData } from './backend.js';

/**
 * A real Vesper server, in this process, on a random port over a fresh data directory (and, on
 * PostgreSQL, tables of its own: helpers/backend.ts).
 */
export interface TestServer {
  readonly url: string;
  readonly dataDir: string;
  /** Stop the server; the data directory is removed unless `keepData` (to reopen it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Reuse this data directory instead of a fresh one (a restart). */
  readonly dataDir?: string;
  /** Fault injection: how LevelDBs are opened, how free space is measured. */
  readonly storage?: StorageOverrides;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'vesper-test-'));
}

export async function startTestServer(env: Partial<Record<string, string>> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VESPER_DATA: dataDir, LOG_LEVEL: 'silent', ...backendEnv(dataDir), ...env });
  const server = await startServer(config, undefined, options.storage).catch(async (error: unknown) => {
    if (options.dataDir === undefined) await removeData(dataDir);
    throw error;
  });
  return {
    url: server.url,
    dataDir,
    close: async ({ keepData = false } = {}) => {
      await server.close();
      if (!keepData) await removeData(dataDir);
    },
  };
}

async function removeData(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  await dropBackendData(dataDir);
}

export type Headers = Readonly<Record<string, string>>;

export interface Reply<T = any> {
  readonly status: number;
  readonly headers: globalThis.Headers;
  /** The parsed body; undefined when the body is not JSON (`text` has it raw). */
  readonly json: T;
  readonly text: string;
}

export interface Api {
  /** A string body is sent as is (malformed JSON tests); anything else is JSON-encoded. */
  post<T = any>(path: string, body?: unknown, headers?: Headers): Promise<Reply<T>>;
  get<T = any>(path: string, headers?: Headers): Promise<Reply<T>>;
  request<T = any>(method: string, path: string, body?: unknown, headers?: Headers): Promise<Reply<T>>;
  /** The same client with more default headers. */
  with(headers: Headers): Api;
}

/** A tiny fetch client; `defaults` are sent with every request (per-call headers win). */
export function api(url: string, defaults: Headers = {}): Api {
  const request = async (method: string, path: string, body?: unknown, headers: Headers = {}): Promise<Reply> => {
    const init: RequestInit = { method, headers: { ...defaults, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(url + path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: parseOrUndefined(text), text };
  };
  return {
    request,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    with: (headers) => api(url, { ...defaults, ...headers }),
  };
}

/** The client of one tenant (and database): what most tests talk through. */
export function tenantApi(url: string, tenant: string, database?: string): Api {
  return api(url, database === undefined ? { 'X-Tenant-ID': tenant } : { 'X-Tenant-ID': tenant, 'X-Database': database });
}

function parseOrUndefined(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A request whose path goes out byte for byte (fetch normalises `/db/%2E%2E/…` away): for the
 * tests of names that must never be read as paths.
 */
export function rawRequest(url: string, method: string, path: string, body?: string, headers: Headers = {}): Promise<{ status: number; json: any; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: parseOrUndefined(text), text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
