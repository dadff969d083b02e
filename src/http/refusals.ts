import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RateLimitedError, VesperError } from '../domain/errors.js';
import type { LimiterFactory } from './rate-limit.js';

/** Who was refused, for the security log: never a secret, only a key id or a digest of an unparseable token. */
export interface Refused {
  readonly ip: string;
  readonly keyId: string | null;
  readonly requestId?: string;
  readonly method?: string;
  readonly path?: string;
  readonly database?: string;
  readonly tenant?: string;
  readonly via?: 'http' | 'mcp';
  /** Whether this refusal spends the key's and address's allowance (false for Host/Origin refusals). */
  readonly limited?: boolean;
}

const REFUSED_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED']);
const WINDOW_SECONDS = 60;

/** The key id of a presented token (`vsp_sk_<id>_…`), or a short digest of anything else. */
export function keyIdOfToken(token: string): string {
  const match = /^vsp_(?:sk|pk)_([a-z0-9]{16})_/.exec(token);
  return match ? `key_${match[1]}` : `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

function presentedToken(ctx: Context): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (bearer?.[1]) return bearer[1];
  const apiKey = ctx.get('x-api-key').trim();
  return apiKey === '' ? null : apiKey;
}

function whoOf(ctx: Context): Refused {
  const token = presentedToken(ctx);
  return { ip: ctx.ip, keyId: token === null ? null : keyIdOfToken(token), requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, via: 'http' };
}

/**
 * Refused requests (401, 403, 429) are the server's business, not the target tenant's: they are
 * counted (`vesper_refused_requests_total{code,via}`) and logged here, never written into the
 * audit trail of the tenant they aimed at. 401s and 403s are also rate-limited per key and per
 * client address: past the limit in a minute, that key or address gets 429s without the request
 * being looked at, so a guessing loop costs the server almost nothing.
 */
export class RefusalGuard {
  private readonly limiter: ReturnType<LimiterFactory> | null;
  private readonly counter: Counter<'code' | 'via'>;
  /** The allowances live in this process's memory: none can be spent without this process knowing. */
  private readonly local: boolean;
  /** When this process last spent an allowance: past a window, every allowance is whole again. */
  private lastSpent = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly perMinute: number,
    private readonly logger: Logger,
    registry: Registry,
    /** Where the allowances are kept: this process's memory by default; on PostgreSQL there, one allowance across every process. */
    makeLimiter?: LimiterFactory,
  ) {
    this.local = makeLimiter === undefined;
    const make: LimiterFactory = makeLimiter ?? (({ points, duration }) => new RateLimiterMemory({ points, duration }));
    this.limiter = perMinute > 0 ? make({ points: perMinute, duration: WINDOW_SECONDS, keyPrefix: 'refusals' }) : null;
    this.counter = new Counter({ name: 'vesper_refused_requests_total', help: 'Requests refused with 401, 403 or 429', labelNames: ['code', 'via'], registers: [registry] });
  }

  /** Koa middleware, right after the error middleware so it sees every refusal on its way out. */
  /**
   * Before a request runs (envelope.ts): a key or address past its allowance gets a 429 without the
   * request being looked at. Most requests: no allowance was spent lately, nothing to look up (in
   * memory; a shared store is always asked). Undefined when there is nothing to wait for.
   */
  before(ctx: Context): Promise<void> | undefined {
    if (!this.limiter || (this.local && Date.now() - this.lastSpent >= WINDOW_SECONDS * 1000)) return undefined;
    return this.refuseIfOverLimit(whoOf(ctx));
  }

  /** A request failed: a refusal among them is counted and logged (awaited: with a shared store it is counted before the client can send the next request). */
  async failed(ctx: Context, error: unknown): Promise<void> {
    if (error instanceof VesperError) await this.record(error, { ...whoOf(ctx), ...(ctx.state.address ?? {}), limited: ctx.state.browserRefused !== true });
  }

  /** Count and log one refusal (also MCP tool calls refused inside a session); 401/403 spend the caller's allowance (settled when spent; never rejects). */
  async record(error: VesperError, who: Refused): Promise<void> {
    if (!REFUSED_CODES.has(error.code)) return;
    this.counter.inc({ code: error.code, via: who.via ?? 'http' });
    const entry = { security: 'refused', code: error.code, ip: who.ip, keyId: who.keyId, requestId: who.requestId, method: who.method, path: who.path, database: who.database, tenant: who.tenant, reason: error.message };
    if (error.code === 'RATE_LIMITED') this.logger.debug(entry, 'request refused');
    else this.logger.warn(entry, 'request refused');
    if (error.code !== 'RATE_LIMITED' && who.limited !== false && this.limiter) {
      const limiter = this.limiter;
      this.lastSpent = Date.now();
      // A spent allowance rejects with its state, and a store that cannot be reached must not turn the refusal into another error.
      await Promise.all(this.identities(who).map((id) => limiter.consume(id).catch(() => undefined)));
    }
  }

  private identities(who: Refused): string[] {
    return who.keyId === null ? [`ip:${who.ip}`] : [`ip:${who.ip}`, `key:${who.keyId}`];
  }

  private async refuseIfOverLimit(who: Refused): Promise<void> {
    const limiter = this.limiter;
    if (!limiter) return;
    // Both at once: with a shared store each is a round trip to PostgreSQL, on every request.
    const states = await Promise.all(this.identities(who).map((id) => limiter.get(id)));
    for (const state of states) {
      if (state && state.consumedPoints >= this.perMinute) {
        throw new RateLimitedError(Math.max(1, Math.ceil(state.msBeforeNext / 1000)), 'too many refused requests from this key or address: retry later', { refusals: 'limited' });
      }
    }
  }
}
