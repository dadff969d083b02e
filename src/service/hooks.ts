import { createHmac, randomBytes } from 'node:crypto';
import type { BackgroundRunner } from '../store/background.js';
import type { Outbox, OutboxRecord } from '../store/outbox.js';
import { ValidationError } from '../domain/errors.js';
import type { Clock } from './clock.js';
import type { SettingsGuard } from './settings.js';

export type HookEvent = 'tenant.provisioned' | 'tenant.deprovisioned' | 'tenant.claimed' | 'quota.exceeded';

export interface HookOptions {
  /** Where deliveries go (VESPER_HOOKS_URL) unless a database's `hooksUrl` setting says otherwise; null = nowhere. */
  readonly url: string | null;
  /** HMAC-SHA-256 key of the signature. */
  readonly secret: string;
  /** First retry after this long, doubling per attempt up to an hour. */
  readonly retryMs: number;
  /** A receiver that takes longer than this fails the attempt. */
  readonly timeoutMs?: number;
}

const MAX_BACKOFF_MS = 3600_000;

/** `sha256=<hex>` of `<timestamp>.<body>`: what a receiver recomputes with the shared secret. */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A database may name its own hook URL only where deliveries can be signed (the server has a secret). */
export function hooksUrlGuard(canSign: boolean): SettingsGuard {
  return (_database, _tenant, next) => {
    if (!canSign && typeof next.hooksUrl === 'string') {
      throw new ValidationError("hooksUrl needs VESPER_HOOKS_SECRET on the server (deliveries are signed with it), and it is not set", { setting: 'hooksUrl' });
    }
  };
}

let sequence = 0;
function deliveryId(now: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `evt_${now.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}

/**
 * Lifecycle webhooks (tenant provisioned, deprovisioned, claimed, quota exceeded): each event is
 * written to the outbox before anything is sent, POSTed as signed JSON, and removed only on a 2xx;
 * a failure is retried with exponential backoff, across restarts. At least once: a receiver
 * de-duplicates by the event id (`X-Vesper-Event-Id`).
 */
export class HookService {
  private timer: NodeJS.Timeout | null = null;
  /** A delivery pass is running: the next one waits for it (one pass at a time keeps the order). */
  private delivering = false;
  private stopped = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly options: HookOptions,
    /** Delivery passes run here: a failed pass is logged and counted in /metrics, and shutdown awaits it. */
    private readonly runner: BackgroundRunner,
    /** The URL in force for a tenant's events (its database's `hooksUrl` setting, else the server's); null = none. */
    private readonly urlOf: (database: string, tenant: string) => Promise<string | null> = async () => options.url,
  ) {}

  /** Hooks can be delivered at all: deliveries are signed, so a secret is configured. */
  get enabled(): boolean {
    return this.options.secret !== '';
  }

  /** Record an event about a tenant durably (then deliver it soon); nothing when its database has no hook URL. */
  async emit(type: HookEvent, data: Readonly<{ database: string; tenant: string }> & Record<string, unknown>): Promise<void> {
    if (!this.enabled || this.stopped) return;
    const url = await this.urlOf(data.database, data.tenant);
    if (url === null) return;
    const now = this.clock();
    await this.outbox.put({ id: deliveryId(now), type, time: now, data, attempts: 0, nextAttemptAt: now, lastError: null, url });
    this.schedule(0);
  }

  /** Start delivering what the outbox holds (a restart resumes here). */
  start(): void {
    if (this.enabled) this.schedule(0);
  }

  /** No new passes; the runner's own stop awaits a pass that is running. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Deliveries still waiting (tests, operators). */
  pending(): Promise<OutboxRecord[]> {
    return this.outbox.pending();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.delivering) return this.schedule(50);
      this.delivering = true;
      const started = this.runner.run('hook-delivery', {}, () =>
        this.deliverDue().finally(() => {
          this.delivering = false;
        }),
      );
      if (!started) this.delivering = false;
    }, delayMs);
    this.timer.unref();
  }

  private async deliverDue(): Promise<void> {
    let next = Number.POSITIVE_INFINITY;
    for (const record of await this.outbox.pending()) {
      if (this.stopped) return;
      const now = this.clock();
      if (record.nextAttemptAt > now) {
        next = Math.min(next, record.nextAttemptAt);
        continue;
      }
      const url = record.url ?? this.options.url;
      if (url === null) {
        // A record of an older server, written when it had a URL it no longer has: nowhere to go.
        await this.outbox.remove(record.id);
        continue;
      }
      const failure = await this.deliver(record, url);
      if (failure === null) {
        await this.outbox.remove(record.id);
        continue;
      }
      const attempts = record.attempts + 1;
      const retryAt = this.clock() + Math.min(MAX_BACKOFF_MS, this.options.retryMs * 2 ** (attempts - 1));
      await this.outbox.put({ ...record, attempts, nextAttemptAt: retryAt, lastError: failure });
      next = Math.min(next, retryAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(Math.max(0, next - this.clock()));
  }

  /** One attempt; null on a 2xx, else what went wrong. */
  private async deliver(record: OutboxRecord, url: string): Promise<string | null> {
    const body = JSON.stringify({ id: record.id, type: record.type, time: record.time, data: record.data });
    const timestamp = String(Math.floor(this.clock() / 1000));
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-vesper-event': record.type,
          'x-vesper-event-id': record.id,
          'x-vesper-timestamp': timestamp,
          'x-vesper-signature': signatureOf(this.options.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}
