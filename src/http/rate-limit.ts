import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../domain/errors.js';
import type { TenantAddress } from '../service/address.js';

/** Per-tenant request budget (requests per second, with that much burst); 0 disables it. */
export class TenantRateLimiter {
  private readonly limiter: RateLimiterMemory | null;

  constructor(requestsPerSecond: number) {
    this.limiter = requestsPerSecond > 0 ? new RateLimiterMemory({ points: requestsPerSecond, duration: 1 }) : null;
  }

  async consume(address: TenantAddress): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(`${address.database}/${address.tenant}`);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw rejection;
    }
  }
}
