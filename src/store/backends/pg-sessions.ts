import type { PgSql } from './pg-client.js';

/** A client of one connection, lent to one user at a time: its connection is one PostgreSQL session. */
export interface PgSession {
  readonly sql: PgSql;
  /** The connection closed since the session was lent (the server died, say): what the session held is gone. */
  readonly lost: boolean;
}

interface Slot extends PgSession {
  lost: boolean;
}

/**
 * Sessions for what must stay on one connection (advisory locks, snapshot transactions), made on
 * demand up to `limit`; when all are lent, a taker waits for one to come back. Not reserve()d
 * connections of a pool: postgres.js 3.4.9 throws an uncatchable TypeError, which ends the
 * process, when a query is written on a reserved connection whose server died
 * (porsager/postgres#1208), and a failover does that to every connection held. A client of one
 * connection reconnects instead; `lost` tells its user that the session it relied on is gone.
 */
export class PgSessions {
  private readonly all: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly waiting: Array<(slot: Slot) => void> = [];

  constructor(
    private readonly make: (onclose: () => void) => PgSql,
    private readonly limit: number,
  ) {}

  take(): Promise<PgSession> {
    const slot = this.free.pop() ?? (this.all.length < this.limit ? this.create() : null);
    if (slot) return Promise.resolve(this.lend(slot));
    return new Promise((resolve) => this.waiting.push((next) => resolve(this.lend(next))));
  }

  /** Give a session back; `reusable` false ends its client (it may still hold what it was lent for) and makes room for a new one. */
  give(session: PgSession, reusable: boolean): void {
    const slot = session as Slot;
    if (!reusable) {
      this.all.splice(this.all.indexOf(slot), 1);
      void slot.sql.end({ timeout: 1 }).catch(() => undefined);
      const waiter = this.waiting.shift();
      if (waiter) waiter(this.create());
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(slot);
    else this.free.push(slot);
  }

  async end(): Promise<void> {
    await Promise.all(this.all.map((slot) => slot.sql.end({ timeout: 5 })));
  }

  private create(): Slot {
    const slot = { lost: false } as Slot;
    (slot as { sql: PgSql }).sql = this.make(() => (slot.lost = true));
    this.all.push(slot);
    return slot;
  }

  /** An idle connection that closed (idle timeout, a restart) held nothing: the session starts afresh. */
  private lend(slot: Slot): Slot {
    slot.lost = false;
    return slot;
  }
}
