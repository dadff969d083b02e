import { randomBytes } from 'node:crypto';
import { KEY_PEPPER_KEY, apiKeyRange, apiKeyRecordKey } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { apiKeyShape } from './record-shapes.js';
import type { Grant, Role } from '../domain/principal.js';
import { type LevelDb, SYNC } from './level-types.js';

/** An API key as stored: never its secret, only an HMAC of it. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string | null;
  readonly description: string | null;
  readonly role: Role;
  readonly databases: Grant;
  readonly tenants: Grant;
  readonly public: boolean;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  /** Cells (`<database>/<tenant>`) removed from the grant by tenant deletions; absent = none. */
  readonly except?: readonly string[];
  /** The session token of an anonymous sandbox: its tenant is deleted when the key expires (absent = an ordinary key). */
  readonly sandbox?: true;
  /** hex HMAC-SHA-256 of the secret part, keyed with the server's pepper. */
  readonly hash: string;
}

/** API keys in the system database, all held in memory: one map lookup per request. */
export class KeyStore {
  private readonly keys = new Map<string, ApiKeyRecord>();

  private constructor(
    private readonly db: LevelDb,
    readonly pepper: Buffer,
    /** Other processes share the system database: a key is read again before each use (see refresh). */
    private readonly shared: boolean,
  ) {}

  /** Load every key; the pepper comes from configuration, else one is made once and kept in the system database. */
  static async open(db: LevelDb, configuredPepper: string | null, shared = false): Promise<KeyStore> {
    let pepper = configuredPepper;
    if (pepper === null) {
      pepper = (await db.get(KEY_PEPPER_KEY)) ?? null;
      if (pepper === null) {
        pepper = randomBytes(32).toString('base64url');
        await db.put(KEY_PEPPER_KEY, pepper, SYNC);
      }
    }
    const store = new KeyStore(db, Buffer.from(pepper), shared);
    for await (const value of db.values(apiKeyRange())) {
      const record = decodeJson(value, apiKeyShape, 'API key');
      store.keys.set(record.id, record);
    }
    return store;
  }

  /**
   * Shared storage: read one key's record again (a point read), so a key created, narrowed or revoked
   * by another process counts here from the next request on. Nothing to do otherwise.
   */
  async refresh(id: string): Promise<void> {
    if (!this.shared) return;
    const stored = await this.db.get(apiKeyRecordKey(id));
    if (stored === undefined) {
      this.keys.delete(id);
      return;
    }
    const record = decodeJson(stored, apiKeyShape, 'API key');
    // Unchanged: keep the object, so principals cached for it stay (KeyService.live).
    if (JSON.stringify(this.keys.get(id)) !== JSON.stringify(record)) this.keys.set(id, record);
  }

  /**
   * Shared storage: read every key again (a scan of the keys), before work over all of them (a
   * tenant or database deletion narrowing keys, the key listing): another process may have created,
   * narrowed or revoked any. Nothing to do otherwise.
   */
  async reload(): Promise<void> {
    if (!this.shared) return;
    const seen = new Set<string>();
    for await (const value of this.db.values(apiKeyRange())) {
      const record = decodeJson(value, apiKeyShape, 'API key');
      seen.add(record.id);
      if (JSON.stringify(this.keys.get(record.id)) !== JSON.stringify(record)) this.keys.set(record.id, record);
    }
    for (const id of this.keys.keys()) if (!seen.has(id)) this.keys.delete(id);
  }

  get(id: string): ApiKeyRecord | undefined {
    return this.keys.get(id);
  }

  all(): ApiKeyRecord[] {
    return [...this.keys.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  async put(record: ApiKeyRecord): Promise<void> {
    await this.db.put(apiKeyRecordKey(record.id), encodeJson(record), SYNC);
    this.keys.set(record.id, record);
  }

  async delete(id: string): Promise<boolean> {
    if (!this.keys.has(id)) return false;
    await this.db.del(apiKeyRecordKey(id), SYNC);
    this.keys.delete(id);
    return true;
  }
}
