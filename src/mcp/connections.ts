import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import { type AccessChange, type AccessService, deletes } from '../service/access.js';
import { type McpSession, sameCaller } from './session.js';

interface Connection<T> {
  readonly session: McpSession;
  readonly transport: T;
  readonly close: () => Promise<void>;
  /** Requests being served on it (not counting a Streamable HTTP GET stream, which stays open for long). */
  active: number;
  lastUsed: number;
}

export interface ConnectionOptions {
  /** Close a connection that served no request for this long (clients that never said goodbye); 0 = never. */
  readonly idleMs?: number;
  /** Where a failed close is reported (a sweep is a schedule: it logs, it never throws). */
  readonly onError?: (error: unknown) => void;
}

/** Sessions of the open mode (no key) are counted under this name. */
const OPEN_MODE = '(open)';

/**
 * The open MCP connections, by session id. A session id is a bearer capability, so every request
 * on it is checked against the session's key, database and tenant, and against the key's grants
 * as they are now. A change that takes access away (revocation, narrowing, tenant or database
 * deletion) closes the connections that lost it; expiry and idleness are swept on a schedule.
 */
export class McpConnections<T> {
  private readonly open = new Map<string, Connection<T>>();
  private readonly sweeper: NodeJS.Timeout | null;
  private readonly unwatch: () => void;

  constructor(
    private readonly access: AccessService,
    private readonly options: ConnectionOptions = {},
  ) {
    this.unwatch = access.watch((change) => void this.closeWhere((s) => this.lostBy(change, s)));
    const idleMs = options.idleMs ?? 0;
    this.sweeper = setInterval(() => void this.sweep(), idleMs > 0 ? Math.min(idleMs, 60_000) : 60_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.open.size;
  }

  /** Sessions open for this key. */
  countFor(keyId: string | null): number {
    const name = keyId ?? OPEN_MODE;
    let count = 0;
    for (const connection of this.open.values()) if ((connection.session.principal.id ?? OPEN_MODE) === name) count++;
    return count;
  }

  add(id: string, session: McpSession, transport: T, close: () => Promise<void>): void {
    this.open.set(id, { session, transport, close, active: 0, lastUsed: Date.now() });
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  /**
   * The transport of a session, for a request from `caller` (whose principal was just read from
   * its key): 404 unknown or closed, 403 another key or tenant, and 401/403 when the key lost
   * access since the session opened, which also closes the session.
   */
  use(id: string, caller: McpSession, streaming = false): { transport: T; release(): void } {
    const connection = this.open.get(id);
    if (!connection) throw new NotFoundError('unknown or closed MCP session: start a new one', { sessionId: id });
    if (!sameCaller(connection.session, caller)) {
      throw new ForbiddenError('this MCP session belongs to another key, database or tenant', { sessionId: id });
    }
    try {
      this.access.recheck(caller.principal, 'ask', caller);
    } catch (error) {
      void this.closeWhere((s) => s === connection.session);
      throw error;
    }
    // An open notification stream is not activity: a client that only holds one is idle.
    if (streaming) return { transport: connection.transport, release: () => undefined };
    connection.active++;
    connection.lastUsed = Date.now();
    return {
      transport: connection.transport,
      release: () => {
        connection.active--;
        connection.lastUsed = Date.now();
      },
    };
  }

  async closeWhere(predicate: (session: McpSession) => boolean): Promise<number> {
    const doomed = [...this.open.entries()].filter(([, c]) => predicate(c.session));
    for (const [id] of doomed) this.open.delete(id);
    const results = await Promise.allSettled(doomed.map(([, c]) => c.close()));
    for (const result of results) if (result.status === 'rejected') this.options.onError?.(result.reason);
    return doomed.length;
  }

  /** Stop the schedule and the access watch, and close everything (shutdown). */
  async closeAll(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.unwatch();
    await this.closeWhere(() => true);
  }

  private lostBy(change: AccessChange, session: McpSession): boolean {
    if (deletes(change, session)) return true;
    if (change.kind === 'key' && change.keyId !== session.principal.id) return false;
    return !this.access.allows(session.principal, 'ask', session);
  }

  /** Close idle sessions and those whose key expired (no event announces an expiry). */
  private async sweep(): Promise<void> {
    const idleMs = this.options.idleMs ?? 0;
    const before = Date.now() - idleMs;
    const idle = (c: Connection<T>) => idleMs > 0 && c.active === 0 && c.lastUsed < before;
    const idleSessions = new Set([...this.open.values()].filter(idle).map((c) => c.session));
    await this.closeWhere((s) => idleSessions.has(s) || this.access.current(s.principal) === null);
  }
}

