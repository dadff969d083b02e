import { NotFoundError } from '../domain/errors.js';
import type { Catalog } from '../store/catalog.js';
import { isDatabaseGone } from '../store/storage-errors.js';
import type { EventLog, TenantEvent } from '../store/event-log.js';
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
  /**
   * Live events of this process's writes (after their batch is durable); returns the unsubscribe
   * function. On shared storage only a wake-up: a stream reads every event from the log (`shared`).
   */
  subscribe(listener: (event: TenantEvent) => void): () => void;
  /** Set on storage shared by several processes (see SharedFeed); null on one process. */
  readonly shared: SharedFeed | null;
}

/**
 * The feed on storage several Vesper processes share. Another process's writes reach no emitter
 * here, so a stream follows the log itself: it reads the events after the last one it looked at
 * every `pollMs` (and at once when this process writes the tenant), and before sending what it
 * read checks that the tenant and the database are still the ones it opened (`gone`). The log is
 * the truth: numbers are given out under the tenant's cross-process lock and each commit is one
 * transaction, so a read sees every event up to some number and none after it: no gap, no repeat.
 */
export interface SharedFeed {
  readonly pollMs: number;
  /** The last sequence number given out (a stream without `since` starts after it). */
  head(): Promise<number>;
  /**
   * Events after `afterSeq` passing the filter, at most `limit`, and the last number looked at; or,
   * checked after the page was read, why the stream must end: its tenant deleted (and maybe made
   * again) or its database dropped, through any process, since the feed opened.
   */
  page(afterSeq: number, limit: number, filter: EventFilter): Promise<{ readonly events: TenantEvent[]; readonly scanned: number } | { readonly gone: string }>;
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
  constructor(
    private readonly catalog: Catalog,
    /** Shared storage: how often an open stream reads the log (see SharedFeed). */
    private readonly pollMs = 250,
  ) {}

  async feed(address: TenantAddress): Promise<ChangeFeed> {
    // Each read leases the database on its own: a stream open for hours must not pin it (nor stall a drop).
    // The tenant's store outlives the database's handle being closed and reopened, so live events keep coming.
    const { log, registration } = await this.logOf(address);
    const withLog = async <T>(work: (events: EventLog) => Promise<T>): Promise<T> => {
      await using lease = await this.catalog.forRead(address.database);
      return await work(lease.database.tenant(address.tenant).events);
    };
    return {
      read: (afterSeq, limit, filter = {}) => withLog((events) => events.read(afterSeq, limit, (e) => eventMatches(e, filter))),
      subscribe: (listener) => log.subscribe(listener),
      shared: this.catalog.shared ? this.sharedFeed(address, registration, withLog) : null,
    };
  }

  private sharedFeed(address: TenantAddress, opened: string | null, withLog: <T>(work: (events: EventLog) => Promise<T>) => Promise<T>): SharedFeed {
    // The tenant's registration as the stream first saw it: another value later means it was deleted (and maybe made again).
    let registration = opened;
    return {
      pollMs: this.pollMs,
      head: () => withLog((events) => events.head()),
      page: async (afterSeq, limit, filter) => {
        try {
          await using lease = await this.catalog.forRead(address.database);
          const read = await lease.database.tenant(address.tenant).events.readPage(afterSeq, limit, (e) => eventMatches(e, filter));
          // After the read: a deletion it may have raced shows here, and nothing read is sent then.
          const now = await lease.database.registrationOf(address.tenant);
          if (registration !== null && now !== registration) return { gone: 'tenant deleted' };
          // A tenant that did not exist when the stream opened is the one its first write made.
          registration = now;
          return read;
        } catch (error) {
          if (error instanceof NotFoundError || isDatabaseGone(error)) return { gone: 'database dropped' };
          throw error;
        }
      },
    };
  }

  private async logOf(address: TenantAddress): Promise<{ log: EventLog; registration: string | null }> {
    await using lease = await this.catalog.forRead(address.database);
    const registration = this.catalog.shared ? await lease.database.registrationOf(address.tenant) : null;
    return { log: lease.database.tenant(address.tenant).events, registration };
  }
}
