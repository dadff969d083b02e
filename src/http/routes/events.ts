import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Context, Middleware } from 'koa';
import { envelope } from '../../contract/envelope.js';
import { parseInput } from '../../contract/parse.js';
import { NotFoundError, ValidationError, VesperError } from '../../domain/errors.js';
import { deletes } from '../../service/access.js';
import { EventsQuerySchema } from '../../operations/index.js';
import { type ChangeFeed, type EventFilter, type SharedFeed, eventMatches } from '../../service/events.js';
import type { TenantEvent } from '../../store/event-log.js';
import { guardedAddress, principalOf } from '../auth.js';
import type { RouteDeps } from './deps.js';
import { storageFailureOf } from '../../store/storage-errors.js';

export const DEFAULT_KEEPALIVE_MS = 15_000;
/** Events per read of the log while replaying. */
const REPLAY_PAGE = 500;
/** A client this far behind on live events is dropped; it reconnects with Last-Event-ID and replays from the log. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How long a client waits before reconnecting (the SSE `retry` field). */
const RETRY_MS = 2000;

/** `Last-Event-ID` (sent by a reconnecting EventSource) wins over `since`: it is where the client really is. */
function startAfter(ctx: Context, since: number | undefined): number | null {
  const header = ctx.get('last-event-id').trim();
  if (header === '') return since ?? null;
  if (!/^\d{1,15}$/.test(header)) throw new ValidationError('Last-Event-ID must be an event sequence number', { lastEventId: header });
  return Number(header);
}

function frame(event: TenantEvent): string {
  return `id: ${event.seq}\nevent: ${event.op}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * One client's stream: replays the log after a sequence number, then follows live events. It
 * subscribes before replaying and holds live events back until the replay is done, sending those
 * the replay did not cover, so nothing written in between is lost or sent twice.
 */
class ChangeStream {
  readonly body = new PassThrough();
  private replaying = true;
  private held: TenantEvent[] = [];
  private sentUpTo = 0;

  /** Shared storage: the last event number read from the log (matching or not), and the read under way. */
  private scanned = 0;
  private following = false;
  private pulling: Promise<void> | null = null;
  private pullAgain = false;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly filter: EventFilter,
    /** Re-checked before every event: the key's grants as they are now. */
    private readonly allowed: () => boolean,
    /** Shared storage: read the key again (another process may have revoked or narrowed it). */
    private readonly refreshKey: () => Promise<void> = async () => undefined,
  ) {}

  get closed(): boolean {
    return this.body.destroyed || this.body.writableEnded;
  }

  /** Live events: held while replaying, then written as they come. Shared storage: a write of this process, read from the log at once. */
  readonly onEvent = (event: TenantEvent): void => {
    if (this.feed.shared) this.wake();
    else if (this.replaying) this.held.push(event);
    else this.sendLive(event);
  };

  comment(text: string): void {
    if (!this.closed) this.body.write(`: ${text}\n\n`);
  }

  end(reason: string): void {
    this.comment(reason);
    if (!this.closed) this.body.end();
  }

  fail(thrown: unknown): void {
    const error = thrown instanceof VesperError ? thrown : (storageFailureOf(thrown) ?? thrown);
    const body = error instanceof VesperError ? envelope(error.code, error.message, error.details) : envelope('INTERNAL_ERROR', 'change stream failed');
    if (!this.closed) this.body.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
    this.end('closed after an error');
  }

  async run(after: number | null): Promise<void> {
    this.body.write(`retry: ${RETRY_MS}\n: connected\n\n`);
    if (this.feed.shared) return this.follow(this.feed.shared, after);
    if (after !== null) await this.replay(after);
    this.replaying = false;
    const held = this.held;
    this.held = [];
    for (const event of held) if (event.seq > this.sentUpTo) this.sendLive(event);
  }

  private async replay(after: number): Promise<void> {
    this.sentUpTo = after;
    for (;;) {
      const page = await this.feed.read(this.sentUpTo, REPLAY_PAGE, this.filter);
      for (const event of page) {
        if (this.closed) return;
        if (!this.allowed()) return this.end('access ended');
        this.sentUpTo = event.seq;
        if (!this.body.write(frame(event))) await Promise.race([once(this.body, 'drain'), once(this.body, 'close')]);
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }

  /**
   * Shared storage (see SharedFeed): replay and live are one loop over the log, from `after` (or
   * from the last number given out when the client gave none), woken by the poll timer and by this
   * process's writes of the tenant.
   */
  private async follow(shared: SharedFeed, after: number | null): Promise<void> {
    this.sentUpTo = after ?? (await shared.head());
    this.scanned = this.sentUpTo;
    this.following = true;
    this.wake();
    await this.pulling;
  }

  /** Read the log now (or once more after the read under way); the poll timer calls it too. */
  wake(): void {
    if (!this.following || this.closed) return;
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          await this.pull();
        } while (this.pullAgain && !this.closed);
      } catch (error) {
        if (error instanceof NotFoundError) this.end('database dropped');
        else this.fail(error);
      } finally {
        this.pulling = null;
      }
    })();
  }

  /**
   * Everything after what was looked at, page by page. The key is read again first; the tenant and
   * database are checked after each page is read and before it is sent, so no event of a tenant
   * deleted and made again (elsewhere) since the stream opened is ever sent on it.
   */
  private async pull(): Promise<void> {
    const shared = this.feed.shared;
    if (shared === null) return;
    await this.refreshKey();
    for (;;) {
      if (this.closed) return;
      if (!this.allowed()) return this.end('access ended');
      const page = await shared.page(this.scanned, REPLAY_PAGE, this.filter);
      if ('gone' in page) return this.end(page.gone);
      const { events, scanned } = page;
      for (const event of events) {
        if (this.closed) return;
        if (event.seq <= this.sentUpTo) continue;
        if (!this.allowed()) return this.end('access ended');
        this.sentUpTo = event.seq;
        if (!this.body.write(frame(event))) await Promise.race([once(this.body, 'drain'), once(this.body, 'close')]);
      }
      this.scanned = Math.max(this.scanned, scanned);
      if (events.length < REPLAY_PAGE) return;
    }
  }

  private sendLive(event: TenantEvent): void {
    if (this.closed || !eventMatches(event, this.filter)) return;
    if (!this.allowed()) return this.end('access ended');
    if (this.body.writableLength > MAX_BUFFERED_BYTES) return this.end('too far behind: reconnect with Last-Event-ID');
    this.body.write(frame(event));
  }
}

/**
 * `GET /events?since=&scope=&predicate=`: the tenant's changes as Server-Sent Events
 * (`id: <seq>`, `event: <op>`, `data: <event JSON>`). It reads one tenant's log only, and ends
 * when the key that opened it is revoked or the client goes away.
 */
export function eventsHandler({ services, streams }: RouteDeps): Middleware {
  return async (ctx) => {
    const address = guardedAddress(ctx);
    const principal = principalOf(ctx);
    const query = parseInput(EventsQuerySchema, ctx.query, 'query string');
    const after = startAfter(ctx, query.since);
    const feed = await services.events.feed(address);
    // Every event is sent only while the key still grants the tenant (revoked, narrowed or expired: the stream ends).
    const allowed = () => services.access.allows(principal, 'events.read', address);
    const refreshKey = () => services.access.refresh(principal);
    const stream = new ChangeStream(feed, { scope: query.scope ?? null, predicate: query.predicate ?? null }, allowed, refreshKey);

    const unsubscribe = feed.subscribe(stream.onEvent);
    // Shared storage: other processes' writes, deletions and key changes are read every pollMs.
    const poll = feed.shared ? setInterval(() => stream.wake(), feed.shared.pollMs) : null;
    const keepalive = setInterval(() => {
      if (allowed()) stream.comment('keepalive');
      else stream.end('access ended');
    }, query.keepalive ?? DEFAULT_KEEPALIVE_MS);
    const unwatch = services.access.watch((change) => {
      if (deletes(change, address)) stream.end('tenant deleted');
      else if (!allowed()) stream.end(change.kind === 'key' && services.access.current(principal) === null ? 'key revoked' : 'access ended');
    });
    const forget = streams.add(() => stream.end('server shutting down'));
    stream.body.once('close', () => {
      forget();
      unsubscribe();
      clearInterval(keepalive);
      if (poll) clearInterval(poll);
      unwatch();
    });

    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set('Cache-Control', 'no-cache, no-transform');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.type = 'text/event-stream';
    ctx.body = stream.body;
    stream.run(after).catch((error: unknown) => stream.fail(error));
  };
}
