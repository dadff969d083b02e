import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Settings } from '../contract/settings.js';
import { RateLimitedError } from '../domain/errors.js';
import type { TenantAddress } from '../service/address.js';

/** A rate-limit tier: this many requests per window, per tenant (0 = unlimited). */
export interface Tier {
  readonly requests: number;
  readonly windowSeconds: number;
}

/** The IETF RateLimit-Policy / RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) of one reply. */
export type RateHeaders = Readonly<Record<'RateLimit-Policy' | 'RateLimit', string>>;

/** 429 for a tenant over its tier; carries the header fields, which the reply must show as any other. */
export class TierLimitedError extends RateLimitedError {
  constructor(
    retryAfterSeconds: number,
    readonly headers: RateHeaders,
    details: { tier: string; limit: number; windowSeconds: number; queuedMs?: number },
  ) {
    super(retryAfterSeconds, `rate limit of tier '${details.tier}' exceeded (${details.limit} requests per ${details.windowSeconds} s), retry after ${retryAfterSeconds}s`, details);
  }
}

/** The limit a tenant runs under, from its settings. */
interface Policy {
  readonly tier: string;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly overflow: Settings['overflow'];
  readonly queueMaxMs: number;
  /** The RateLimit-Policy field and the quoted tier name, made once per policy, not per reply. */
  readonly policyField: string;
  readonly quotedTier: string;
}

/** A limiter of one limit and window: spends a point of a key's budget, or rejects with a RateLimiterRes. */
export type Limiter = Pick<RateLimiterMemory, 'consume' | 'get'>;

/**
 * Makes the limiter of one limit and window. By default one in memory (this process's budgets);
 * on PostgreSQL one kept there, so every process on it spends the same budget (server.ts).
 */
export type LimiterFactory = (options: { readonly points: number; readonly duration: number; readonly keyPrefix: string }) => Limiter;

const inMemory: LimiterFactory = ({ points, duration }) => new RateLimiterMemory({ points, duration });

/** What the guard needs of the settings: the tenant's effective ones. */
export type SettingsOf = (database: string, tenant: string) => Settings | Promise<Settings>;

/**
 * Per-tenant request budgets by tier, over rate-limiter-flexible (one fixed-window memory limiter
 * per distinct limit and window, keyed by tenant). Above the limit a request is refused with
 * 429 and Retry-After, or, when the tenant's overflow setting is `queue`, waits for the next
 * window for up to queueMaxMs and is refused only then. A queued request holds no slot of any
 * other tenant: one tenant's flood spends its own budget only.
 */
export class TenantRateLimiter {
  private readonly limiters = new Map<string, Limiter>();
  /** Policies by settings object: a tenant's effective settings are one cached object until they change. */
  private readonly policies = new WeakMap<Settings, Policy>();
  private fallbackPolicy: Policy | null = null;

  constructor(
    private readonly tiers: Readonly<Record<string, Tier>>,
    private readonly settingsOf: SettingsOf | null,
    /** The `default` tier when no settings are given (tests of the app alone). */
    fallbackPerSecond = 0,
    private readonly makeLimiter: LimiterFactory = inMemory,
  ) {
    if (!('default' in tiers)) this.tiers = { ...tiers, default: { requests: fallbackPerSecond, windowSeconds: 1 } };
  }

  /** Spend one request of the tenant's budget: the header fields for the reply, or null when unlimited; TierLimitedError when spent. */
  async consume(address: TenantAddress): Promise<RateHeaders | null> {
    const known = this.policyOf(address);
    const policy = known instanceof Promise ? await known : known;
    if (policy.limit === 0) return null;
    const limiter = this.limiterFor(policy);
    const key = `${address.database}/${address.tenant}`;
    const deadline = Date.now() + (policy.overflow === 'queue' ? policy.queueMaxMs : 0);
    for (;;) {
      try {
        return headersOf(policy, await limiter.consume(key));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // Queued: wait for the window to turn, if it turns before the deadline, then try again.
        const wait = rejection.msBeforeNext + 1;
        if (Date.now() + wait > deadline) {
          const queued = policy.overflow === 'queue' ? { queuedMs: policy.queueMaxMs } : {};
          throw new TierLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), headersOf(policy, rejection), { tier: policy.tier, limit: policy.limit, windowSeconds: policy.windowSeconds, ...queued });
        }
        await sleep(wait);
      }
    }
  }

  /** Synchronous when the tenant's settings are cached (most requests): an await per request less. */
  private policyOf(address: TenantAddress): Policy | Promise<Policy> {
    const settings = this.settingsOf ? this.settingsOf(address.database, address.tenant) : null;
    return settings instanceof Promise ? settings.then((s) => this.policyOfSettings(s)) : this.policyOfSettings(settings);
  }

  private policyOfSettings(settings: Settings | null): Policy {
    if (settings === null) return (this.fallbackPolicy ??= this.policyFor(null));
    let policy = this.policies.get(settings);
    if (policy === undefined) {
      policy = this.policyFor(settings);
      this.policies.set(settings, policy);
    }
    return policy;
  }

  private policyFor(settings: Settings | null): Policy {
    const name = settings?.tier ?? 'default';
    const tier = this.tiers[name] ?? (this.tiers.default as Tier);
    const limit = settings?.requestsPerWindow ?? tier.requests;
    const quotedTier = `"${name}"`;
    return {
      tier: name,
      limit,
      windowSeconds: tier.windowSeconds,
      overflow: settings?.overflow ?? 'reject',
      queueMaxMs: settings?.queueMaxMs ?? 0,
      policyField: `${quotedTier};q=${limit};w=${tier.windowSeconds}`,
      quotedTier,
    };
  }

  private limiterFor(policy: Policy): Limiter {
    const id = `${policy.limit}/${policy.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = this.makeLimiter({ points: policy.limit, duration: policy.windowSeconds, keyPrefix: `tenant:${id}` });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

/** `RateLimit-Policy: "free";q=20;w=60` and `RateLimit: "free";r=17;t=42` (remaining, seconds to reset). */
function headersOf(policy: Policy, res: RateLimiterRes): RateHeaders {
  return {
    'RateLimit-Policy': policy.policyField,
    RateLimit: `${policy.quotedTier};r=${Math.max(0, res.remainingPoints)};t=${Math.max(0, Math.ceil(res.msBeforeNext / 1000))}`,
  };
}
