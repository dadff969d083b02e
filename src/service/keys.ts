import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { NotFoundError } from '../domain/errors.js';
import { ADMIN_PRINCIPAL, type Grant, type Principal, type Role, grantCell, grants } from '../domain/principal.js';
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
  /** A sandbox's session token: its tenant is deleted when it expires. */
  readonly sandbox?: boolean;
}

export type KeyView = Omit<ApiKeyRecord, 'hash'>;

/** What a deletion did to the keys: ids revoked (nothing left to grant) and ids narrowed. */
export interface KeyChanges {
  readonly revoked: string[];
  readonly narrowed: string[];
}

/** `vsp_sk_<id>_<secret>` / `vsp_pk_<id>_<secret>`: the id finds the record, the secret proves it. */
const TOKEN = /^vsp_(sk|pk)_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * API keys: 256-bit random secrets shown once, stored as HMAC-SHA-256 with a server pepper and
 * compared in constant time (a slow KDF would cost 10–100 ms per request for no gain on random
 * secrets). Revocation is a delete plus an event that closes open streams of that key.
 */
export class KeyService {
  /** Emits 'revoked' and 'narrowed' with the key id. */
  readonly revocations = new EventEmitter();
  private readonly adminDigest: Buffer | null;
  /** One principal per stored record: re-checking a long-lived connection allocates nothing. */
  private readonly principals = new WeakMap<ApiKeyRecord, Principal>();

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

  /** Before authenticate(): on storage shared by several processes, read the presented key's record again. */
  async refresh(token: string): Promise<void> {
    const parsed = TOKEN.exec(token);
    if (parsed) await this.store.refresh(`key_${parsed[2]}`);
  }

  /** Shared storage: read one key's record again by id (a connection that outlives its request re-checks it so). */
  async refreshKey(id: string): Promise<void> {
    if (id.startsWith('key_')) await this.store.refresh(id);
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
    return this.live(record);
  }

  /** The live sandbox key a presented token is, or null (not a sandbox token, unknown, revoked, expired). */
  sandboxOf(token: string): KeyView | null {
    const principal = this.authenticate(token);
    const record = principal?.id ? this.store.get(principal.id) : undefined;
    return record?.sandbox ? view(record) : null;
  }

  /** Every sandbox key, expired ones included (the sweep deletes those and their tenants). */
  sandboxes(): KeyView[] {
    return this.store.all().filter((record) => record.sandbox).map(view);
  }

  /** HMAC of another kind of secret (claim tokens) under the same pepper, hex. */
  hashSecret(secret: string): string {
    return this.digest(secret).toString('hex');
  }

  /** Constant-time check of a secret against its stored HMAC. */
  secretMatches(secret: string, hash: string): boolean {
    const stored = Buffer.from(hash, 'hex');
    const presented = this.digest(secret);
    return stored.length === presented.length && timingSafeEqual(presented, stored);
  }

  /**
   * What a principal may do now: the current record of its key (narrowed by deletions since the
   * principal was read), or null once the key is revoked or expired. The admin key and open mode
   * never change. Long-lived connections call this on every request and event.
   */
  current(principal: Principal): Principal | null {
    if (principal.id === null || principal.id === ADMIN_PRINCIPAL.id) return principal;
    const record = this.store.get(principal.id);
    return record ? this.live(record) : null;
  }

  private live(record: ApiKeyRecord): Principal | null {
    if (record.expiresAt !== null && record.expiresAt <= this.clock()) return null;
    let principal = this.principals.get(record);
    if (!principal) {
      principal = { id: record.id, role: record.role, databases: record.databases, tenants: record.tenants, readOnly: record.public };
      if (record.except) principal = { ...principal, except: record.except };
      this.principals.set(record, principal);
    }
    return principal;
  }

  async create(input: NewKey): Promise<{ key: KeyView; secret: string }> {
    const id = randomBytes(10).toString('hex').slice(0, 16);
    const secret = randomBytes(32).toString('base64url');
    const { sandbox, ...fields } = input;
    const record: ApiKeyRecord = { id: `key_${id}`, ...fields, ...(sandbox ? { sandbox: true as const } : {}), createdAt: this.clock(), hash: this.digest(secret).toString('hex') };
    await this.store.put(record);
    return { key: view(record), secret: `vsp_${input.public ? 'pk' : 'sk'}_${id}_${secret}` };
  }

  /** Shared storage: read every key again before a listing or a sweep (another process may have changed any); nothing otherwise. */
  reload(): Promise<void> {
    return this.store.reload();
  }

  list(): KeyView[] {
    return this.store.all().map(view);
  }

  async revoke(id: string): Promise<void> {
    // Shared storage: the key may have been made (or revoked) by another process since this one looked.
    await this.store.refresh(id);
    if (!(await this.store.delete(id))) throw new NotFoundError(`key '${id}' does not exist`, { id });
    this.revocations.emit('revoked', id);
  }

  /**
   * Database deletion: keys for that database alone go; keys that also name other databases lose
   * it. Else a key would come back to life on a new database that reuses the name.
   */
  async forgetDatabase(database: string): Promise<KeyChanges> {
    await this.store.reload();
    const changes: KeyChanges = { revoked: [], narrowed: [] };
    for (const record of this.store.all()) {
      if (record.databases === '*' || !record.databases.includes(database)) continue;
      const rest = record.databases.filter((d) => d !== database);
      if (rest.length === 0) await this.revokeFor(record.id, changes);
      else await this.narrow({ ...record, databases: rest }, changes);
    }
    return changes;
  }

  /**
   * Tenant deletion takes exactly the deleted cell (database × tenant) out of every key that
   * grants it by name, and nothing else: a key for that tenant in other databases keeps them
   * (the deleting admin may have no authority there). A key limited to this one database loses
   * the tenant from its list (revoked when none is left); a key spanning several databases gets
   * the cell as an exception. Keys for every tenant ('*') keep their grant.
   */
  async forgetTenant(database: string, tenant: string): Promise<KeyChanges> {
    await this.store.reload();
    const changes: KeyChanges = { revoked: [], narrowed: [] };
    const cell = grantCell(database, tenant);
    for (const record of this.store.all()) {
      if (record.tenants === '*' || !record.tenants.includes(tenant) || !grants(record.databases, database)) continue;
      if (record.except?.includes(cell)) continue;
      if (record.databases !== '*' && record.databases.length === 1) {
        const rest = record.tenants.filter((t) => t !== tenant);
        if (rest.length === 0) await this.revokeFor(record.id, changes);
        else await this.narrow({ ...record, tenants: rest }, changes);
      } else {
        await this.narrow({ ...record, except: [...(record.except ?? []), cell] }, changes);
      }
    }
    return changes;
  }

  private async revokeFor(id: string, changes: KeyChanges): Promise<void> {
    await this.revoke(id);
    changes.revoked.push(id);
  }

  private async narrow(record: ApiKeyRecord, changes: KeyChanges): Promise<void> {
    await this.store.put(record);
    changes.narrowed.push(record.id);
    this.revocations.emit('narrowed', record.id);
  }
}

function view(record: ApiKeyRecord): KeyView {
  const { hash: _hash, ...rest } = record;
  return rest;
}
