import type { Middleware } from 'koa';
import { RateLimitedError } from '../domain/errors.js';

/**
 * Fair admission between tenants (issue 13: one tenant's flood must not slow the others beyond a
 * stated bound). Node serves connections first come first served: when one tenant keeps 50
 * connections busy, each turn of the event loop runs 50 of its requests (even refused ones cost
 * parsing, authentication and a reply) before another tenant's one request. Here each turn of the
 * loop admits at most `perTurn` requests; past that, requests wait in a queue per tenant and the
 * next turns admit them round robin, one per tenant with waiting requests at a time. So a request
 * waits behind at most `perTurn` admissions per turn and for at most ⌈tenants waiting / perTurn⌉
 * turns, whatever the number of connections a flooding tenant holds. When fewer than `perTurn`
 * requests arrive in a turn (the common case) they pass at once, with no hop.
 */
export class FairAdmission {
  private admittedThisTurn = 0;
  private turnScheduled = false;
  /** Waiting requests by tenant; the map's order is the round robin (a served tenant goes last). */
  private readonly queues = new Map<string, (() => void)[]>();
  private waiting = 0;

  constructor(
    private readonly perTurn: number,
    /** Requests one tenant may have waiting; past it a 429 at once. */
    private readonly maxWaitingPerTenant: number,
  ) {}

  /** Null: admitted now. A promise: admitted when it resolves. */
  admit(tenant: string): Promise<void> | null {
    if (this.perTurn <= 0) return null;
    if (this.waiting === 0 && this.admittedThisTurn < this.perTurn) {
      this.admittedThisTurn++;
      this.scheduleTurn();
      return null;
    }
    let queue = this.queues.get(tenant);
    if (queue === undefined) {
      queue = [];
      this.queues.set(tenant, queue);
    }
    if (queue.length >= this.maxWaitingPerTenant) {
      throw new RateLimitedError(1, `too many requests of this tenant waiting for admission (at most ${this.maxWaitingPerTenant})`, { limit: 'admission', waiting: queue.length });
    }
    const line = queue;
    this.waiting++;
    this.scheduleTurn();
    return new Promise<void>((resolve) => line.push(resolve));
  }

  /** Requests waiting for admission now (metrics, tests). */
  get queued(): number {
    return this.waiting;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    // setImmediate runs after the loop's poll phase: the requests that arrived in this turn are all queued by then.
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.turnScheduled = false;
    this.admittedThisTurn = 0;
    while (this.waiting > 0 && this.admittedThisTurn < this.perTurn) {
      const [tenant, queue] = this.queues.entries().next().value as [string, (() => void)[]];
      const next = queue.shift() as () => void;
      this.queues.delete(tenant);
      if (queue.length > 0) this.queues.set(tenant, queue);
      this.waiting--;
      this.admittedThisTurn++;
      next();
    }
    if (this.waiting > 0 || this.admittedThisTurn > 0) this.scheduleTurn();
  }
}

/**
 * The gate in front of authentication and the body: the tenant as the request names it (path,
 * host or header; validated later, here only a queue key, cut short), one queue for requests that
 * name none (admin, health).
 */
export function admissionMiddleware(admission: FairAdmission): Middleware {
  // Not an async function: a request admitted at once (most) goes on without a promise of its own.
  return (ctx, next) => {
    const state = ctx.state as { pathDatabase?: string; pathTenant?: string; hostTenant?: string };
    const tenant = state.pathTenant ?? state.hostTenant ?? ctx.get('x-tenant-id');
    const database = state.pathDatabase ?? ctx.get('x-database');
    const wait = admission.admit(`${database.slice(0, 64)}/${tenant.slice(0, 64)}`);
    return wait === null ? next() : wait.then(() => next());
  };
}
