import { randomBytes } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, TenantNotFoundError, UnauthorizedError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import type { ClaimStore } from '../store/claim-store.js';
import type { Clock } from './clock.js';
import type { HookService } from './hooks.js';
import type { KeyService } from './keys.js';
import type { PortabilityService } from './portability.js';
import type { SettingsService } from './settings.js';
import type { TenantService } from './tenants.js';

export interface SandboxOptions {
  readonly enabled: boolean;
  /** Where sandboxes are made (the default database). */
  readonly database: string;
  /** The public read-only tenant of `database`; null = none. */
  readonly demoTenant: string | null;
  /** A sandbox and its token are deleted this long after its first write. */
  readonly ttlMs: number;
  /** The rate-limit tier a new sandbox gets as its own setting. */
  readonly tier: string;
  /** How long a claim token issued by an admin stays usable. */
  readonly claimTtlMs: number;
  /** Sandboxes one client address may make per hour (0 = no limit): keyless callers cannot make tenants without end. */
  readonly perAddressPerHour: number;
  /** The facts quota a new sandbox gets as its own setting (0 = the inherited one). */
  readonly maxFacts: number;
}

/** Makes the allowance of one limit and window: in memory by default, on PostgreSQL one shared by every process (server.ts). */
export type AllowanceFactory = (options: { readonly points: number; readonly duration: number; readonly keyPrefix: string }) => Pick<RateLimiterMemory, 'consume' | 'reward'>;

/** `vsp_claim_<id>_<secret>`: the id finds the record, the secret proves it. */
const CLAIM_TOKEN = /^vsp_claim_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Progressive access: anonymous callers read the demo tenant; their first tell makes a sandbox
 * tenant whose session token is an ordinary writer key of that tenant alone, marked `sandbox`
 * and expiring (so authentication, MCP and revocation need nothing new); the sweep deletes
 * expired sandboxes with the normal tenant deletion, which also revokes their key. A claim turns a
 * sandbox into a permanent tenant: the sandbox key goes, a new writer key comes back once.
 */
export class SandboxService {
  /** Sandbox creation, sweep and claims one at a time: a claim never races the deletion of its sandbox. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Sandboxes made per client address and hour. */
  private readonly perAddress: Pick<RateLimiterMemory, 'consume' | 'reward'> | null;

  constructor(
    readonly options: SandboxOptions,
    private readonly keys: KeyService,
    private readonly tenants: TenantService,
    private readonly settings: SettingsService,
    private readonly portability: PortabilityService,
    private readonly hooks: HookService,
    private readonly claims: ClaimStore,
    private readonly clock: Clock,
    makeAllowance: AllowanceFactory = ({ points, duration }) => new RateLimiterMemory({ points, duration }),
  ) {
    this.perAddress = options.perAddressPerHour > 0 ? makeAllowance({ points: options.perAddressPerHour, duration: 3600, keyPrefix: 'sandboxes' }) : null;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** What a request with no key may do: read the demo tenant (nothing at all when there is none). */
  anonymous(): Principal {
    const tenants = this.options.demoTenant === null ? [] : [this.options.demoTenant];
    return { id: 'anonymous', role: 'reader', databases: [this.options.database], tenants, readOnly: true };
  }

  /** A fresh sandbox tenant and its session token (a key shown once: the caller puts it in a header, never in a log). */
  async create(clientAddress: string): Promise<{ database: string; tenant: string; token: string; principal: Principal }> {
    if (this.perAddress !== null) {
      await this.perAddress.consume(clientAddress).catch((refusal: unknown) => {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        throw new RateLimitedError(Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)), `too many sandboxes made from this address: at most ${this.options.perAddressPerHour} an hour`, { limit: 'sandboxes' });
      });
    }
    return this.serialised(async () => {
      const { database, ttlMs, tier, maxFacts } = this.options;
      const tenant = `sbx-${randomBytes(8).toString('hex')}`;
      await this.tenants.create(database, tenant);
      await this.settings.updateTenant(database, tenant, maxFacts > 0 ? { tier, maxFacts } : { tier });
      const { secret } = await this.keys.create({
        role: 'writer',
        databases: [database],
        tenants: [tenant],
        description: 'sandbox session',
        name: null,
        expiresAt: this.clock() + ttlMs,
        public: false,
        sandbox: true,
      });
      const principal = this.keys.authenticate(secret);
      if (principal === null) throw new TypeError('a sandbox key just made does not authenticate');
      return { database, tenant, token: secret, principal };
    });
  }

  /**
   * Undo `create` when the tell that made the sandbox failed: its tenant (with the normal deletion,
   * which also revokes its key) and the allowance it spent. The `tenant.provisioned` hook already
   * sent is followed by `tenant.deprovisioned`.
   */
  async discard(database: string, tenant: string, clientAddress: string): Promise<void> {
    await this.serialised(async () => {
      await this.tenants.delete(database, tenant).catch((error: unknown) => {
        if (!(error instanceof TenantNotFoundError)) throw error;
      });
      const key = this.keys.sandboxes().find((k) => k.tenants !== '*' && k.tenants[0] === tenant);
      if (key !== undefined && this.keys.list().some((k) => k.id === key.id)) await this.keys.revoke(key.id).catch(() => undefined);
    });
    await this.perAddress?.reward(clientAddress, 1);
  }

  /** Delete every expired sandbox (its tenant, with no trace, and its key); returns how many. */
  async sweep(): Promise<number> {
    return this.serialised(async () => {
      const now = this.clock();
      let deleted = 0;
      await this.keys.reload();
      for (const key of this.keys.sandboxes()) {
        if (key.expiresAt === null || key.expiresAt > now) continue;
        const tenant = key.tenants === '*' ? undefined : key.tenants[0];
        const database = key.databases === '*' ? undefined : key.databases[0];
        if (tenant !== undefined && database !== undefined) {
          // Deleting the tenant revokes this key (it grants that tenant alone).
          await this.tenants.delete(database, tenant).catch((error: unknown) => {
            if (!(error instanceof TenantNotFoundError)) throw error;
          });
        }
        if (this.keys.list().some((k) => k.id === key.id)) {
          // Another process sweeping the same sandboxes may have revoked it first.
          await this.keys.revoke(key.id).catch((error: unknown) => {
            if (!(error instanceof NotFoundError)) throw error;
          });
        }
        deleted++;
      }
      return deleted;
    });
  }

  /** A one-time claim token (shown once; stored as HMAC). */
  async issueClaim(): Promise<{ claimToken: string; expiresAt: number }> {
    const id = randomBytes(10).toString('hex').slice(0, 16);
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock();
    const expiresAt = now + this.options.claimTtlMs;
    await this.claims.put({ id, hash: this.keys.hashSecret(secret), createdAt: now, expiresAt, usedAt: null });
    return { claimToken: `vsp_claim_${id}_${secret}`, expiresAt };
  }

  /**
   * Turn the sandbox of `sandboxToken` into a permanent tenant: in place, or moved into `target`
   * (export → import into an empty tenant, then the sandbox is deleted). The claim token is spent
   * first, so two claims with it cannot both succeed; it is given back if the claim fails.
   */
  async claim(sandboxToken: string, claimToken: string, target?: string): Promise<{ tenant: string; key: string }> {
    return this.serialised(async () => {
      const sandbox = this.keys.sandboxOf(sandboxToken);
      if (sandbox === null || sandbox.tenants === '*' || sandbox.databases === '*') throw new UnauthorizedError('the sandbox token is invalid or has expired');
      const [database = this.options.database] = sandbox.databases;
      const [tenant = ''] = sandbox.tenants;
      const claim = await this.spend(claimToken);
      try {
        const claimed = target === undefined || target === tenant ? tenant : await this.move(database, tenant, target);
        // The sandbox token stops working (revoked here, or with the moved sandbox's deletion); no expiry is left.
        if (claimed === tenant) await this.keys.revoke(sandbox.id);
        // The sandbox's own settings go when it stays in place (a permanent tenant inherits); a moved
        // sandbox's were not carried, and the target keeps whatever an admin set on it.
        if (claimed === tenant) await this.settings.updateTenant(database, claimed, { tier: null, maxFacts: null });
        const { secret } = await this.keys.create({ role: 'writer', databases: [database], tenants: [claimed], description: 'claimed sandbox', name: null, expiresAt: null, public: false });
        await this.hooks.emit('tenant.claimed', { database, tenant: claimed, sandbox: tenant });
        return { tenant: claimed, key: secret };
      } catch (error) {
        await this.claims.put(claim);
        throw error;
      }
    });
  }

  /** Check a claim token and mark it used; returns the record as it was. */
  private async spend(token: string) {
    const parsed = CLAIM_TOKEN.exec(token);
    const record = parsed ? await this.claims.get(parsed[1] ?? '') : undefined;
    if (!parsed || !record || !this.keys.secretMatches(parsed[2] ?? '', record.hash)) throw new NotFoundError('unknown claim token');
    if (record.usedAt !== null) throw new ForbiddenError('this claim token was already used');
    if (record.expiresAt <= this.clock()) throw new ForbiddenError('this claim token has expired');
    await this.claims.put({ ...record, usedAt: this.clock() });
    return record;
  }

  private async move(database: string, sandbox: string, target: string): Promise<string> {
    if (target.startsWith('sbx-')) throw new ConflictError("a claimed tenant's name cannot start with 'sbx-' (sandboxes' names)", { tenant: target });
    if (target === this.options.demoTenant) throw new ConflictError('the demo tenant cannot be claimed', { tenant: target });
    // A sandbox is small (its tier's quotas): its export is held in memory between the two steps.
    const lines: string[] = [];
    await this.portability.export(database, sandbox, async (line) => {
      lines.push(line);
    });
    await this.portability.import(database, target, (async function* () {
      yield* lines;
    })());
    await this.tenants.delete(database, sandbox);
    return target;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
