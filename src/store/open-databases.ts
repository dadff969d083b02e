import { StorageFullError, TooManyOpenDatabasesError } from '../domain/errors.js';
import type { FactDatabase } from './fact-database.js';
import { isOutOfDescriptors, isStorageFull } from './storage-errors.js';

/** A database held for the length of one use; closing the database waits for every lease to end. */
export interface DatabaseLease extends AsyncDisposable {
  readonly database: FactDatabase;
  /** Idempotent; `await using` calls it at the end of the block. */
  release(): void;
}

type SlotState = 'closed' | 'opening' | 'open' | 'closing';

/** One registered database: its FactDatabase (kept while its LevelDB is closed) and who holds it. */
interface Slot {
  readonly name: string;
  database: FactDatabase | null;
  state: SlotState;
  /** The open or close under way. */
  transition: Promise<void> | null;
  leases: number;
  idleWaiters: Array<() => void>;
}

export interface OpenDatabasesOptions {
  /** At most this many LevelDBs are open at once; the least recently used idle one is closed to make room. */
  readonly maxOpen: number;
  /** Throws when `name` may not be leased now (being dropped, not registered); checked before every pin. */
  readonly admit: (name: string) => void;
  /** First open of a database in this process. */
  readonly open: (name: string) => Promise<FactDatabase>;
  /** Whether the disk has room again (throttled by the caller): a database that failed on a full disk is reopened only then. */
  readonly spaceAvailable: () => Promise<boolean>;
  /** Failures of background closes and reopens, which no request is waiting for. */
  readonly onError: (error: unknown, context: { database: string; task: string }) => void;
}

/**
 * The pool of open LevelDB handles. A request leases a database; only an unleased database is ever
 * closed, so no read or write sees its handle close under it. Map order is recency of use (a
 * released slot moves to the end), so the first idle open slot found is the least recently used.
 */
export class OpenDatabases {
  private readonly slots = new Map<string, Slot>();
  /** Slots holding LevelDB descriptors: opening, open or closing. */
  private live = 0;

  constructor(private readonly options: OpenDatabasesOptions) {}

  get openCount(): number {
    return this.live;
  }

  get limit(): number {
    return this.options.maxOpen;
  }

  /** Leases held right now, over every database (0 when nothing is in flight: a leak test checks it). */
  get leaseCount(): number {
    let leases = 0;
    for (const slot of this.slots.values()) leases += slot.leases;
    return leases;
  }

  /** Some database could not write because the disk was full and has not been reopened since. */
  get storageFull(): boolean {
    for (const slot of this.slots.values()) if (slot.database?.needsReopen) return true;
    return false;
  }

  /** Lease a database, opening it (and closing the least recently used idle one) if needed. */
  async acquire(name: string): Promise<DatabaseLease> {
    for (;;) {
      this.options.admit(name);
      const slot = this.slotOf(name);
      slot.leases++;
      try {
        await this.ensureOpen(slot);
      } catch (error) {
        this.release(slot);
        throw error;
      }
      const database = slot.database;
      if (database === null) throw new Error(`database '${name}' opened without a handle`);
      // After a full disk, reopen once space is back, but only when no one else holds the database:
      // waiting for them could deadlock a request that leases the same database twice. The last
      // holder's release does it otherwise.
      if (database.needsReopen && slot.leases === 1 && (await this.options.spaceAvailable()) && slot.leases === 1) {
        this.release(slot);
        if (idleAndOpen(slot)) await this.bringDown(slot);
        continue;
      }
      return this.lease(slot, database);
    }
  }

  /**
   * A lease of a database that is open with nothing to do first (the common case), without
   * waiting for anything; undefined when `acquire` must run (closed, opening, to be reopened).
   */
  acquireNow(name: string): DatabaseLease | undefined {
    const slot = this.slots.get(name);
    const database = slot?.database;
    if (slot === undefined || slot.state !== 'open' || slot.transition !== null || !database || database.needsReopen) return undefined;
    this.options.admit(name);
    slot.leases++;
    return this.lease(slot, database);
  }

  /**
   * Wait until no request holds `name` (the caller refuses new leases meanwhile); false when
   * `timeoutMs` passed first, so a lease that is never released (a bug) fails the drop instead of hanging it.
   */
  async drain(name: string, timeoutMs: number): Promise<boolean> {
    const slot = this.slots.get(name);
    if (!slot) return true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      // Only a deadline for the drop's answer (409, nothing deleted); correctness is the lease count. Cleared below.
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([this.waitIdle(slot).then(() => true), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Close a database for good (its directory is about to be deleted): waits for its leases to end. */
  async retire(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    await this.waitIdle(slot);
    if (slot.state === 'open') await this.bringDown(slot);
    this.slots.delete(name);
  }

  /**
   * Shared storage: another process dropped the database (and may have made it again). New leases
   * get a new slot, hence a new handle on whatever the storage holds now; this one is closed once
   * the requests still holding it are done (they fail on the missing storage meanwhile).
   */
  detach(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    this.slots.delete(name);
    void (async () => {
      await this.waitIdle(slot);
      await this.bringDown(slot);
    })().catch((error: unknown) => this.options.onError(error, { database: name, task: 'close dropped' }));
  }

  /** Shutdown: close every open database (requests have drained by now). */
  async closeAll(): Promise<void> {
    const slots = [...this.slots.values()];
    await Promise.all(slots.map((s) => s.transition?.catch(() => undefined)));
    await Promise.all(slots.filter((s) => s.state === 'open').map((s) => this.bringDown(s)));
  }

  private slotOf(name: string): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = { name, database: null, state: 'closed', transition: null, leases: 0, idleWaiters: [] };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private lease(slot: Slot, database: FactDatabase): DatabaseLease {
    return new Lease(database, () => this.release(slot));
  }

  private release(slot: Slot): void {
    slot.leases--;
    if (this.slots.get(slot.name) === slot) {
      this.slots.delete(slot.name);
      this.slots.set(slot.name, slot);
    }
    if (slot.leases > 0) return;
    for (const wake of slot.idleWaiters.splice(0)) wake();
    if (slot.database?.needsReopen) void this.reopenIfIdle(slot);
  }

  private async waitIdle(slot: Slot): Promise<void> {
    while (slot.leases > 0 || slot.transition) {
      if (slot.leases > 0) await new Promise<void>((resolve) => slot.idleWaiters.push(resolve));
      else await slot.transition?.catch(() => undefined);
    }
  }

  /** The caller holds a lease on `slot`, so no one closes it once it is open. */
  private async ensureOpen(slot: Slot): Promise<void> {
    while (slot.state !== 'open') {
      if (slot.transition) {
        await slot.transition.catch(() => undefined);
        continue;
      }
      await this.bringUp(slot);
    }
  }

  /** One opener per slot: the transition covers making room too, so concurrent leases of a closed database wait for it. */
  private async bringUp(slot: Slot): Promise<void> {
    slot.state = 'opening';
    slot.transition = (async () => {
      try {
        await this.makeRoom(slot);
        this.live++;
        try {
          if (slot.database === null) slot.database = await this.options.open(slot.name);
          else await slot.database.resume();
        } catch (error) {
          this.live--;
          throw openError(slot.name, this.options.maxOpen, error);
        }
        slot.state = 'open';
      } catch (error) {
        slot.state = 'closed';
        throw error;
      } finally {
        slot.transition = null;
      }
    })();
    await slot.transition;
  }

  /** Close idle databases (least recently used first) until one more fits; closes under way are waited for. */
  private async makeRoom(slot: Slot): Promise<void> {
    while (this.live >= this.options.maxOpen) {
      const victim = this.leastRecentlyUsedIdle();
      if (victim) {
        await this.bringDown(victim);
        continue;
      }
      const closing = [...this.slots.values()].find((s) => s.state === 'closing');
      if (!closing) throw new TooManyOpenDatabasesError(slot.name, this.options.maxOpen, 'slots');
      await closing.transition?.catch(() => undefined);
    }
  }

  private leastRecentlyUsedIdle(): Slot | undefined {
    for (const slot of this.slots.values()) if (slot.state === 'open' && slot.leases === 0) return slot;
    return undefined;
  }

  private async bringDown(slot: Slot): Promise<void> {
    const database = slot.database;
    if (database === null || slot.state !== 'open') return;
    slot.state = 'closing';
    slot.transition = database
      .suspend()
      .catch((error: unknown) => this.options.onError(error, { database: slot.name, task: 'close' }))
      .finally(() => {
        slot.state = 'closed';
        slot.transition = null;
        this.live--;
      });
    await slot.transition;
  }

  /** After a full disk: once space is back and no one holds the database, close and reopen it, which clears LevelDB's sticky write error. */
  private async reopenIfIdle(slot: Slot): Promise<void> {
    if (!(await this.options.spaceAvailable())) return;
    if (!idleAndOpen(slot) || this.slots.get(slot.name) !== slot) return;
    await this.bringDown(slot);
    try {
      this.options.admit(slot.name); // not if a drop started meanwhile
    } catch {
      return;
    }
    await this.ensureOpen(slot).catch((error: unknown) => this.options.onError(error, { database: slot.name, task: 'reopen after full disk' }));
  }
}

function idleAndOpen(slot: Slot): boolean {
  return slot.leases === 0 && slot.state === 'open';
}

/** Opening fails with a typed error a client can act on when the cause is the machine's, not the request's. */
function openError(database: string, limit: number, error: unknown): unknown {
  if (isOutOfDescriptors(error)) return new TooManyOpenDatabasesError(database, limit, 'descriptors');
  if (isStorageFull(error)) return new StorageFullError(database, { cause: error });
  return error;
}

/**
 * A class, not an object literal: a computed key (`[Symbol.asyncDispose]`) in a literal is defined
 * through V8's runtime, about a microsecond for every request that leases a database.
 */
class Lease implements DatabaseLease {
  private released = false;

  constructor(
    readonly database: FactDatabase,
    private readonly onRelease: () => void,
  ) {}

  /** Idempotent: `await using` and an explicit release may both call it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}
