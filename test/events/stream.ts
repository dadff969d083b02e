import { type EventSourceMessage, createParser } from 'eventsource-parser';

/** A change-stream client for tests: fetch + eventsource-parser, collecting events and comments. */
export interface OpenStream {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: EventSourceMessage[];
  readonly comments: string[];
  /** Resolves once `count` events arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  waitForComment(match: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      notify();
    },
    onComment: (comment) => {
      comments.push(comment);
      notify();
    },
  });
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  const until = <T>(ready: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)} comments: ${JSON.stringify(comments)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    comments,
    waitFor: (count, timeoutMs = 5000) => until(() => (events.length >= count ? events.slice(0, count) : undefined), timeoutMs, `${count} events`),
    waitForComment: (match, timeoutMs = 5000) => until(() => comments.find((c) => match.test(c)), timeoutMs, `a comment matching ${match}`),
    ended,
    close: () => abort.abort(),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
