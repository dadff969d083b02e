import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { NotFoundError } from '../domain/errors.js';
import { ADMIN_PRINCIPAL, type Grant, type Principal, type Role } from '../domain/principal.js';
import type { ApiKeyRecord, KeyStore } from '../store/key-store.js';
import type { Clock } from './clock.js';

export interface NewKey {
  readonly role: Role;
  readonly databases: Grant;
  readonly tenants: Grant;
  readonly description: string | null;
  readonly name: string | null;
  readonly expiresAt: number | null;
  readonly public: boolean;
}

export type KeyView = Omit<ApiKeyRecord, 'hash'>;

/** `vsp_sk_<id>_<secret>` / `vsp_pk_<id>_<secret>`: the id finds the record, the secret proves it. */
const TOKEN = /^vsp_(sk|pk)_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * API keys: 256-bit random secrets shown once, stored as HMAC-SHA-256 with a server pepper and
 * compared in constant time (a slow KDF would cost 10–100 ms per request for no gain on random
 * secrets). Revocation is a delete plus an event that closes open streams of that key.
 */
export class KeyService {
  /** Emits 'revoked' with the key id. */
  readonly revocations = new EventEmitter();
  private readonly adminDigest: Buffer | null;

  constructor(
    private readonly store: KeyStore,
    adminKey: string | null,
    private readonly clock: Clock,
  ) {
    this.adminDigest = adminKey === null ? null : this.digest(adminKey);
    this.revocations.setMaxListeners(0);
  }

  private digest(secret: string): Buffer {
    return createHmac('sha256', this.store.pepper).update(secret).digest();
  }

  /** The principal a presented key stands for, or null (missing, unknown, revoked, expired or forged). */
  authenticate(token: string): Principal | null {
    const presented = this.digest(token);
    if (this.adminDigest && timingSafeEqual(presented, this.adminDigest)) return ADMIN_PRINCIPAL;
    const parsed = TOKEN.exec(token);
    if (!parsed) return null;
    const [, kind, id, secret] = parsed as unknown as [string, 'sk' | 'pk', string, string];
    const record = this.store.get(`key_${id}`);
    if (!record || record.public !== (kind === 'pk')) return null;
    if (!timingSafeEqual(this.digest(secret), Buffer.from(record.hash, 'hex'))) return null;
    if (record.expiresAt !== null && record.expiresAt <= this.clock()) return null;
    return { id: record.id, role: record.role, databases: record.databases, tenants: record.tenants, readOnly: record.public };
  }

  async create(input: NewKey): Promise<{ key: KeyView; secret: string }> {
    const id = randomBytes(10).toString('hex').slice(0, 16);
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = { id: `key_${id}`, ...input, createdAt: this.clock(), hash: this.digest(secret).toString('hex') };
    await this.store.put(record);
    return { key: view(record), secret: `vsp_${input.public ? 'pk' : 'sk'}_${id}_${secret}` };
  }

  list(): KeyView[] {
    return this.store.all().map(view);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw new NotFoundError(`key '${id}' does not exist`, { id });
    this.revocations.emit('revoked', id);
  }

  /**
   * Database deletion: keys for that database alone go; keys that also name other databases lose
   * it. Else a key would come back to life on a new database that reuses the name.
   */
  async forgetDatabase(database: string): Promise<void> {
    for (const record of this.store.all()) {
      if (record.databases === '*' || !record.databases.includes(database)) continue;
      const rest = record.databases.filter((d) => d !== database);
      if (rest.length === 0) await this.revoke(record.id);
      else await this.store.put({ ...record, databases: rest });
    }
  }

  /** Tenant deletion: keys for that tenant alone go; keys that also name other tenants lose it. */
  async forgetTenant(database: string, tenant: string): Promise<void> {
    for (const record of this.store.all()) {
      if (record.tenants === '*' || !record.tenants.includes(tenant)) continue;
      if (record.databases !== '*' && !record.databases.includes(database)) continue;
      const rest = record.tenants.filter((t) => t !== tenant);
      if (rest.length === 0) await this.revoke(record.id);
      else await this.store.put({ ...record, tenants: rest });
    }
  }
}

function view(record: ApiKeyRecord): KeyView {
  const { hash: _hash, ...rest } = record;
  return rest;
}
