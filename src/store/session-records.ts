import type { Term } from '../domain/fact.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { sessionShape } from './record-shapes.js';
import { accessKey, accessRange, identityOfAccessKey, sessionIdOfKey, sessionKey, sessionRange } from '../encoding/session-keys.js';
import { type BatchOp, type KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';

/** One entry of the window a session was last sent: what `removed` names, and a digest of what it showed. */
export interface SessionEntry {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  readonly scope: string | null;
  /** Digest of the entry's content (scope, confidence, createdAt, provenance): a change shows up as `added`. */
  readonly digest: string;
}

/** The window last sent to a session of a tenant. */
export interface SessionRecord {
  readonly windowId: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly entries: readonly SessionEntry[];
}

/**
 * Sessions decoded lately, by their stored JSON: a session read through the context cache
 * (context-cache.ts) is the same string every time, decoded (and checked) once. Records are never
 * changed in place (a window writes a new one), so sharing them is safe.
 */
const decoded = new Map<string, SessionRecord>();
/** Characters of JSON the decoded sessions stand for, at most (a session of 1,000 entries is about 100,000). */
const MAX_DECODED_CHARS = 1_000_000;
let decodedChars = 0;

export async function loadSession(sub: KeyspaceReader, sessionId: string): Promise<SessionRecord | null> {
  const raw = await sub.get(sessionKey(sessionId));
  if (raw === undefined) return null;
  let record = decoded.get(raw);
  if (record === undefined) {
    record = decodeJson(raw, sessionShape, 'context session', sessionKey(sessionId));
    decoded.set(raw, record);
    decodedChars += raw.length;
    for (const oldest of decoded.keys()) {
      if (decodedChars <= MAX_DECODED_CHARS) break;
      decoded.delete(oldest);
      decodedChars -= oldest.length;
    }
  }
  return record;
}

/** Every session of a tenant, with its record. */
export async function* listSessions(reader: KeyspaceReader): AsyncGenerator<[string, SessionRecord]> {
  for await (const [key, value] of scanRange(reader, sessionRange())) {
    yield [sessionIdOfKey(key), decodeJson(value, sessionShape, 'context session', key)];
  }
}

/** The access counts of these facts (absent: never included in a window). */
export async function loadAccessCountsOf(reader: KeyspaceReader, identities: readonly string[]): Promise<Map<string, number>> {
  const values = await reader.getMany(identities.map(accessKey));
  const counts = new Map<string, number>();
  identities.forEach((identity, i) => {
    const value = values[i];
    if (value !== undefined) counts.set(identity, Number(value));
  });
  return counts;
}

export function putSessionOp(sub: LevelSublevel, sessionId: string, record: SessionRecord): BatchOp {
  return { type: 'put', key: sessionKey(sessionId), value: encodeJson(record), sublevel: sub };
}

export function delSessionOp(sub: LevelSublevel, sessionId: string): BatchOp {
  return { type: 'del', key: sessionKey(sessionId), sublevel: sub };
}

/** Whether the tenant has any access count at all (one key read). */
export async function hasAccessCounts(sub: KeyspaceReader): Promise<boolean> {
  return (await sub.keys({ ...accessRange(), limit: 1 }).all()).length > 0;
}

/** Ops adding one to the access count of each fact (read, then written by the caller under the tenant's lock). */
export async function incrementAccessOps(reader: KeyspaceReader, sub: LevelSublevel, identities: readonly string[]): Promise<BatchOp[]> {
  if (identities.length === 0) return [];
  const current = await reader.getMany(identities.map(accessKey));
  return identities.map((identity, i) => ({ type: 'put', key: accessKey(identity), value: String(Number(current[i] ?? 0) + 1), sublevel: sub }));
}

export function delAccessOps(sub: LevelSublevel, identities: readonly string[]): BatchOp[] {
  return identities.map((identity) => ({ type: 'del', key: accessKey(identity), sublevel: sub }));
}

/** Every access count of a tenant (fact identity, count): what an export carries. */
export async function* listAccessCounts(reader: KeyspaceReader): AsyncGenerator<[string, number]> {
  for await (const [key, value] of scanRange(reader, accessRange())) yield [identityOfAccessKey(key), Number(value)];
}

export function putAccessCountOp(sub: LevelSublevel, identity: string, count: number): BatchOp {
  return { type: 'put', key: accessKey(identity), value: String(count), sublevel: sub };
}
