import { RateLimitedError, RequestCancelledError } from '../domain/errors.js';
import type { TenantAddress } from './address.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface TenantSlots {
  running: number;
  readonly waiting: Waiter[];
}

export interface WorkSlotLimits {
  /** Heavy requests of one tenant running at once. */
  readonly perTenant: number;
  /** Heavy requests of one tenant waiting for a slot; beyond it a request is refused with 429 at once. */
  readonly queuePerTenant: number;
}

const keyOf = (address: TenantAddress) => `${address.database}/${address.tenant}`;

/**
 * A per-tenant concurrency limit for heavy work (rule evaluations, joins, diffs, merges, context
 * passes). The rate limit bounds how many requests a tenant sends; this bounds how many of its
 * expensive ones run at the same time, so one tenant cannot occupy the event loop's slices, the
 * thread pool and the heap with many evaluations at once while other tenants wait. Cheap requests
 * (point asks, tells) never take a slot.
 */
export class WorkSlots {
  private readonly tenants = new Map<string, TenantSlots>();

  constructor(private readonly limits: WorkSlotLimits) {}

  /** Waits for a slot of the tenant (in arrival order); dispose of the result to free it. */
  async acquire(address: TenantAddress, signal?: AbortSignal): Promise<Disposable> {
    if (this.limits.perTenant <= 0) return { [Symbol.dispose]: () => {} };
    const key = keyOf(address);
    let slots = this.tenants.get(key);
    if (!slots) {
      slots = { running: 0, waiting: [] };
      this.tenants.set(key, slots);
    }
    if (slots.running < this.limits.perTenant) {
      slots.running++;
    } else {
      if (slots.waiting.length >= this.limits.queuePerTenant) {
        throw new RateLimitedError(1, `too many heavy requests in flight for tenant '${address.tenant}': at most ${this.limits.perTenant} run and ${this.limits.queuePerTenant} wait`, {
          limit: 'concurrency',
          running: slots.running,
          waiting: slots.waiting.length,
        });
      }
      await this.wait(slots, signal);
    }
    return this.release(key, slots);
  }

  /** Tenants with a heavy request running or waiting (for metrics and tests). */
  busyTenants(): number {
    return this.tenants.size;
  }

  private wait(slots: TenantSlots, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = slots.waiting.indexOf(waiter);
        if (at >= 0) slots.waiting.splice(at, 1);
        reject(signal?.reason ?? new RequestCancelledError());
      };
      // The slot is handed over by release() (running stays counted), so nothing to undo here.
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      slots.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(key: string, slots: TenantSlots): Disposable {
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        const next = slots.waiting.shift();
        if (next) return next.resolve();
        slots.running--;
        if (slots.running === 0 && this.tenants.get(key) === slots) this.tenants.delete(key);
      },
    };
  }
}
