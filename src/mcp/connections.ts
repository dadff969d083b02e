import type { EventEmitter } from 'node:events';
import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import { type McpSession, sameCaller } from './session.js';

interface Connection<T> {
  readonly session: McpSession;
  readonly transport: T;
  readonly close: () => Promise<void>;
  /** Requests being served on it (a Streamable HTTP GET stream stays open for long). */
  active: number;
  lastUsed: number;
}

export interface ConnectionOptions {
  /** Close a connection that served no request for this long (Streamable HTTP sessions the client never deleted); 0 = never. */
  readonly idleMs?: number;
}

/**
 * The open MCP connections of one transport, by session id. A session id is a bearer capability,
 * so every request on it is checked against the session's key, database and tenant; a revoked key
 * closes every connection it opened.
 */
export class McpConnections<T> {
  private readonly open = new Map<string, Connection<T>>();
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(
    revocations: EventEmitter,
    private readonly options: ConnectionOptions = {},
  ) {
    revocations.on('revoked', (keyId: string) => void this.closeWhere((s) => s.principal.id === keyId));
    const idleMs = options.idleMs ?? 0;
    this.sweeper = idleMs > 0 ? setInterval(() => void this.sweep(), Math.min(idleMs, 60_000)) : null;
    this.sweeper?.unref();
  }

  get size(): number {
    return this.open.size;
  }

  add(id: string, session: McpSession, transport: T, close: () => Promise<void>): void {
    this.open.set(id, { session, transport, close, active: 0, lastUsed: Date.now() });
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  /** The transport of a session, for a request from `caller` (404 unknown or closed, 403 another key or tenant). */
  use(id: string, caller: McpSession): { transport: T; release(): void } {
    const connection = this.open.get(id);
    if (!connection) throw new NotFoundError('unknown or closed MCP session: start a new one', { sessionId: id });
    if (!sameCaller(connection.session, caller)) {
      throw new ForbiddenError('this MCP session belongs to another key, database or tenant', { sessionId: id });
    }
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
    await Promise.allSettled(doomed.map(([, c]) => c.close()));
    return doomed.length;
  }

  private async sweep(): Promise<void> {
    const before = Date.now() - (this.options.idleMs ?? 0);
    const idle = new Set([...this.open.values()].filter((c) => c.active === 0 && c.lastUsed < before));
    for (const [id, connection] of this.open) {
      if (!idle.has(connection)) continue;
      this.open.delete(id);
      await connection.close().catch(() => undefined);
    }
  }
}
