import { EventEmitter } from 'node:events';
import { eventKey, eventRange, seqOfEventKey } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import type { BatchOp, LevelSublevel } from './level-types.js';

/** What a write records: the operation, who did it (a key id, never a secret), on what, and how it ended. */
export interface EventDraft {
  readonly op: string;
  readonly actor: string | null;
  readonly target: string;
  readonly outcome: 'ok' | 'error';
  readonly scope?: string | null;
  readonly details?: Record<string, unknown>;
}

export interface TenantEvent extends EventDraft {
  readonly seq: number;
  readonly time: number;
}

/**
 * The per-tenant event log: every write appends its events in the same atomic batch as the write,
 * so the log never disagrees with the data. The audit API, the change stream and context diffs
 * read it; `appended` notifies live listeners after the batch is durable.
 */
export class EventLog {
  private nextSeq: number | null = null;
  readonly appended = new EventEmitter();

  constructor(private readonly sub: LevelSublevel) {
    this.appended.setMaxListeners(0);
  }

  private async lastSeq(): Promise<number> {
    const [last] = await this.sub.keys({ ...eventRange(0), reverse: true, limit: 1 }).all();
    return last === undefined ? 0 : seqOfEventKey(last);
  }

  /** Ops appending events (call under the tenant's write lock); `publish` after the batch committed. */
  async append(drafts: readonly EventDraft[], now: number): Promise<{ ops: BatchOp[]; events: TenantEvent[] }> {
    if (drafts.length === 0) return { ops: [], events: [] };
    const first = this.nextSeq ?? (await this.lastSeq()) + 1;
    const events: TenantEvent[] = drafts.map((draft, i) => ({ ...draft, seq: first + i, time: now }));
    this.nextSeq = first + events.length;
    const ops: BatchOp[] = events.map((e) => ({ type: 'put', key: eventKey(e.seq), value: encodeJson(e), sublevel: this.sub }));
    return { ops, events };
  }

  publish(events: readonly TenantEvent[]): void {
    for (const event of events) this.appended.emit('event', event);
  }

  /** A failed batch leaves the counter unknown: read it again next time. */
  reset(): void {
    this.nextSeq = null;
  }

  async read(afterSeq: number, limit: number, filter: (e: TenantEvent) => boolean = () => true): Promise<TenantEvent[]> {
    const out: TenantEvent[] = [];
    const iterator = this.sub.values(eventRange(afterSeq));
    try {
      for await (const value of iterator) {
        const event = decodeJson<TenantEvent>(value);
        if (filter(event)) out.push(event);
        if (out.length >= limit) break;
      }
    } finally {
      await iterator.close();
    }
    return out;
  }

  /** Delete events older than `before` (epoch ms); they are in time order, so stop at the first newer one. */
  async prune(before: number): Promise<number> {
    const doomed: string[] = [];
    const iterator = this.sub.iterator(eventRange(0));
    try {
      for await (const [key, value] of iterator) {
        if (decodeJson<TenantEvent>(value).time >= before) break;
        doomed.push(key);
      }
    } finally {
      await iterator.close();
    }
    if (doomed.length > 0) await this.sub.batch(doomed.map((key) => ({ type: 'del' as const, key })));
    return doomed.length;
  }
}
