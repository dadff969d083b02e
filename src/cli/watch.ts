import { createParser } from 'eventsource-parser';
import { type Connection, connectFetch, headersOf, replyError } from './client.js';
import { CliError, EXIT } from './errors.js';

export interface WatchOptions {
  readonly since: number | null;
  readonly scope: string | undefined;
  readonly predicate: string | undefined;
  /** Called with each change's JSON as sent (`data:` of the SSE frame). */
  readonly onChange: (json: string) => void;
  readonly signal?: AbortSignal;
}

const RECONNECT_ATTEMPTS = 5;

function eventsPath(options: WatchOptions, after: number | null): string {
  const query = new URLSearchParams();
  if (after !== null) query.set('since', String(after));
  if (options.scope !== undefined) query.set('scope', options.scope);
  if (options.predicate !== undefined) query.set('predicate', options.predicate);
  const text = query.toString();
  return text === '' ? '/events' : `/events?${text}`;
}

/** Read one connection of the stream until it ends; returns the last event id seen. */
async function follow(connection: Connection, options: WatchOptions, after: number | null): Promise<number | null> {
  const response = await connectFetch(connection, eventsPath(options, after), {
    headers: headersOf(connection, { Accept: 'text/event-stream' }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok || !response.body) throw await replyError(response);
  let last = after;
  const parser = createParser({
    onEvent: (event) => {
      if (event.event === 'error') throw new CliError(EXIT.server, `change stream failed: ${event.data}`);
      if (event.id !== undefined && /^\d+$/.test(event.id)) last = Number(event.id);
      options.onChange(event.data);
    },
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  } catch (error) {
    if (error instanceof CliError || options.signal?.aborted) throw error;
    // the connection dropped: the caller reconnects from `last`
  }
  return last;
}

/**
 * `vesper watch`: follow `GET /events` and hand each change over as it happens. A dropped
 * connection is resumed after the last event seen (`since`), so nothing is missed or repeated;
 * a refused key or a server that stays away ends the watch with its exit code.
 */
export async function watch(connection: Connection, options: WatchOptions): Promise<void> {
  let after = options.since;
  let failures = 0;
  let connected = false;
  for (;;) {
    try {
      after = await follow(connection, options, after);
      connected = true;
      failures = 0;
    } catch (error) {
      if (options.signal?.aborted) return;
      const retry = connected && error instanceof CliError && error.exitCode === EXIT.connect && ++failures <= RECONNECT_ATTEMPTS;
      if (!retry) throw error;
    }
    if (options.signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** failures, 10_000)));
  }
}
