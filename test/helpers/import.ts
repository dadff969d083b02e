// Imports over real HTTP for the crash tests: a body sent in part and held open, and raw views of a tenant's keys.
import { request } from 'node:http';
import { META_SUBLEVEL, pendingImportKey, retiredLayerRange, tenantRegistryKey, tenantSettingsKey } from '../../src/encoding/control-keys.js';
import { sessionRange } from '../../src/encoding/session-keys.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { tellOk } from './facts.js';
import { tenantApi } from './server.js';

export async function exportOf(url: string, tenant: string): Promise<string> {
  const reply = await fetch(`${url}/admin/databases/default/tenants/${tenant}/export`);
  if (reply.status !== 200) throw new Error(`export: ${reply.status}`);
  return reply.text();
}

/**
 * Send `text` as the start of an import body and keep the request open (the server waits for the
 * rest): `finish` sends the rest and waits for the reply, `abandon` drops the connection.
 */
export function startImport(url: string, tenant: string, text: string): { finish: (rest: string) => Promise<{ status: number; text: string }>; abandon: () => void } {
  const target = new URL(`/admin/databases/default/tenants/${tenant}/import`, url);
  const req = request(target, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } });
  const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: body }));
      response.on('error', reject);
    });
    req.on('error', reject);
  });
  reply.catch(() => undefined); // the server may be killed under it
  req.write(text);
  return {
    finish: (rest) => {
      req.end(rest);
      return reply;
    },
    abandon: () => req.destroy(),
  };
}

/** The keys of a tenant's sublevel, and whether its registration is in META, as stored now. */
export async function rawTenant(level: LevelDb, tenant: string): Promise<{ keys: [string, string][]; sessions: number; registered: boolean }> {
  const prefix = `!${tenant}!`;
  const keys = (await level.iterator({ gte: prefix, lt: `${prefix}\xff` }).all()) as [string, string][];
  const sessions = sessionRange();
  const inSessions = keys.filter(([k]) => k.slice(prefix.length) >= sessions.gte && k.slice(prefix.length) < sessions.lt).length;
  const registered = (await level.get(`!${META_SUBLEVEL}!${tenantRegistryKey(tenant)}`)) !== undefined;
  return { keys, sessions: inSessions, registered };
}

/**
 * Every raw key of the database that holds something of the tenant: its sublevel, and its records
 * in META that an import or its undo writes (registration, settings, pending-import marker,
 * retired-layer journal). Not its stamp, usage or event counter: those count changes and requests
 * (the test's own), and outlive a deleted tenant too.
 */
export async function keysNaming(level: LevelDb, tenant: string): Promise<string[]> {
  const meta = (key: string) => `!${META_SUBLEVEL}!${key}`;
  const exact = new Set([tenantRegistryKey(tenant), tenantSettingsKey(tenant), pendingImportKey(tenant)].map(meta));
  const journal = retiredLayerRange(tenant);
  const found: string[] = [];
  for await (const key of level.keys()) {
    if (key.startsWith(`!${tenant}!`) || exact.has(key) || (key >= meta(journal.gte) && key < meta(journal.lt))) found.push(key);
  }
  return found;
}

/**
 * A source tenant for an import of several chunks: 6,050 facts in main and a fork, a rule, and
 * `sessions` context sessions (10 units each in a chunk of 2,000: 200 fill one).
 */
export async function seedSource(url: string, tenant: string, sessions: number): Promise<void> {
  const src = tenantApi(url, tenant);
  for (let start = 0; start < 6_000; start += 2_000) {
    await tellOk(src, { facts: Array.from({ length: 2_000 }, (_, i) => ({ predicate: 'item', args: [start + i, `g${(start + i) % 40}`] })) });
  }
  const setup = async (reply: Promise<{ status: number; text: string }>, status: number) => {
    const r = await reply;
    if (r.status !== status) throw new Error(`setup: ${r.status} ${r.text}`);
  };
  await setup(src.post('/rules', { text: 'group(?g) :- item(?i, ?g).' }), 201);
  await setup(src.post('/scope/fork', { source: 'main', target: 'alt' }), 201);
  await tellOk(src, { facts: Array.from({ length: 50 }, (_, i) => ({ predicate: 'item', args: [10_000 + i, 'alt'], scope: 'alt' })) });
  for (let i = 0; i < sessions; i++) await setup(src.post('/context/optimize', { sessionId: `agent-${i}`, maxFacts: 2, predicates: ['item'] }), 200);
}
