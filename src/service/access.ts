import { EventEmitter } from 'node:events';
import { UnauthorizedError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { type AccessTarget, type Operation, authorize } from './authorization.js';
import type { KeyService } from './keys.js';
import type { TenantGate } from './tenant-gate.js';
import type { TenantService } from './tenants.js';

/** Something that may have taken access away: a key revoked or narrowed, a tenant (or its database) deleted. */
export type AccessChange = { readonly kind: 'key'; readonly keyId: string } | { readonly kind: 'tenant'; readonly database: string; readonly tenant: string };

/**
 * Grants as they are now, for connections that outlive the request that opened them (MCP
 * sessions, change streams). A principal read when a connection opened is only a key id: each
 * request and each streamed event re-checks the key's current record and expiry (a map lookup),
 * and every change that can take access away is announced so open connections re-check at once.
 */
export class AccessService {
  private readonly changes = new EventEmitter();

  constructor(
    private readonly keys: KeyService,
    tenants: TenantService,
    private readonly gate: TenantGate,
  ) {
    this.changes.setMaxListeners(0);
    keys.revocations.on('revoked', (keyId: string) => this.announce({ kind: 'key', keyId }));
    keys.revocations.on('narrowed', (keyId: string) => this.announce({ kind: 'key', keyId }));
    tenants.onDeprovision((database, tenant) => this.announce({ kind: 'tenant', database, tenant }));
  }

  /** The principal's current grants, or null once its key is revoked or expired. */
  current(principal: Principal): Principal | null {
    return this.keys.current(principal);
  }

  /**
   * Shared storage: read the principal's key again, so a revocation, narrowing or deletion made
   * through another process counts here (an open connection calls it before it checks). Nothing
   * to do on one process, where every change is made, and announced, here.
   */
  async refresh(principal: Principal): Promise<void> {
    if (principal.id !== null) await this.keys.refreshKey(principal.id);
  }

  /** Authorise `operation` on `target` with the key's current grants: 401 if it is gone, 403 if narrowed; returns them. */
  recheck(principal: Principal, operation: Operation, target: AccessTarget): Principal {
    const now = this.keys.current(principal);
    if (now === null) throw new UnauthorizedError('this API key was revoked or has expired');
    authorize(now, operation, target);
    return now;
  }

  /**
   * Enter a tenant for one request, before authorising it (409 while the tenant is being
   * deleted); call the returned function when the request is answered. A deletion waits for the
   * requests inside, so none authorised before it can act on the tenant re-created after it.
   */
  enter(target: { readonly database: string; readonly tenant: string }): () => void {
    return this.gate.enter(target.database, target.tenant);
  }

  /** Whether the principal may still perform `operation` on `target`. */
  allows(principal: Principal, operation: Operation, target: AccessTarget): boolean {
    try {
      this.recheck(principal, operation, target);
      return true;
    } catch {
      return false;
    }
  }

  /** Be told of every change that may take access away; returns the unsubscribe function. */
  watch(listener: (change: AccessChange) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  get watchers(): number {
    return this.changes.listenerCount('change');
  }

  private announce(change: AccessChange): void {
    this.changes.emit('change', change);
  }
}

/** Whether a change deleted the tenant a connection is bound to (its data and event sequence are gone). */
export function deletes(change: AccessChange, target: { readonly database: string; readonly tenant: string }): boolean {
  return change.kind === 'tenant' && change.database === target.database && change.tenant === target.tenant;
}
