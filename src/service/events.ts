import type { Catalog } from '../store/catalog.js';
import type { TenantEvent } from '../store/event-log.js';
import type { TenantAddress } from './address.js';

/** What a change-stream reader narrows the events to. */
export interface EventFilter {
  /** Events on this scope: the event's own scope, or a fact of the event in that scope. */
  readonly scope?: string | null;
  /** Events carrying at least one fact with this predicate. */
  readonly predicate?: string | null;
}

/** The change feed of one tenant: its durable log (replay) and its live appends. */
export interface ChangeFeed {
  /** Events after `afterSeq`, in order, at most `limit`, failed operations left out. */
  read(afterSeq: number, limit: number, filter?: EventFilter): Promise<TenantEvent[]>;
  /** Live events (after their batch is durable); returns the unsubscribe function. */
  subscribe(listener: (event: TenantEvent) => void): () => void;
}

interface FactOfEvent {
  readonly predicate?: unknown;
  readonly scope?: unknown;
}

function factsOf(event: TenantEvent): readonly FactOfEvent[] {
  const facts = event.details?.facts;
  return Array.isArray(facts) ? (facts as FactOfEvent[]) : [];
}

/** A change is an operation that succeeded; failures stay in the audit trail. */
export function isChange(event: TenantEvent): boolean {
  return event.outcome === 'ok';
}

export function eventMatches(event: TenantEvent, filter: EventFilter): boolean {
  if (!isChange(event)) return false;
  if (filter.scope != null && event.scope !== filter.scope && !factsOf(event).some((f) => f.scope === filter.scope)) return false;
  if (filter.predicate != null && !factsOf(event).some((f) => f.predicate === filter.predicate)) return false;
  return true;
}

/**
 * The tenant's event log as a change feed (`GET /events`). Reading it never creates the tenant:
 * a tenant that does not exist yet has an empty log, and its first write reaches the subscribers.
 * It reads one tenant's log only, so no filter can reach another tenant's events.
 */
export class EventService {
  constructor(private readonly catalog: Catalog) {}

  async feed(address: TenantAddress): Promise<ChangeFeed> {
    // Each read leases the database on its own: a stream open for hours must not pin it (nor stall a drop).
    // The tenant's store outlives the database's handle being closed and reopened, so live events keep coming.
    const log = await this.logOf(address);
    return {
      read: async (afterSeq, limit, filter = {}) => {
        await using lease = await this.catalog.forRead(address.database);
        return await lease.database.tenant(address.tenant).events.read(afterSeq, limit, (e) => eventMatches(e, filter));
      },
      subscribe: (listener) => log.subscribe(listener),
    };
  }

  private async logOf(address: TenantAddress) {
    await using lease = await this.catalog.forRead(address.database);
    return lease.database.tenant(address.tenant).events;
  }
}
