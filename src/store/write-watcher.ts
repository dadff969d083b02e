import type { FactKey, Term } from '../domain/fact.js';
import type { EventLog, TenantEvent } from './event-log.js';

/** A fact named by a `told` / `retracted` event: its key, the scope written, and the version written or removed. */
export interface WrittenFact extends FactKey {
  readonly scope: string;
  readonly version: number;
}

/**
 * What a watcher remembers of one write. `facts` lists the facts of a `told` / `retracted` event;
 * it is null for any other event, for an event naming too many facts to keep, and for `cleared`
 * (the tenant's keyspace was cleared, which appends no event).
 */
export interface WriteRecord {
  readonly op: string;
  readonly outcome: 'ok' | 'error';
  readonly facts: readonly WrittenFact[] | null;
}

/** Writes remembered per tenant at most, and facts named by them at most (older ones are forgotten first). */
const MAX_WRITES = 1024;
const MAX_FACTS = 16_384;

/**
 * The writes of one tenant as its event log publishes them: a generation that counts them, and
 * the recent ones, so a reader that knows what the tenant held at some generation can catch up
 * from the writes since instead of reading everything again.
 */
export class WriteWatch {
  private count = 0;
  private readonly recent: WriteRecord[] = [];
  private facts = 0;

  /** Writes seen since the watch began. */
  get generation(): number {
    return this.count;
  }

  /** The writes after `generation`, oldest first; null when some of them are no longer remembered. */
  since(generation: number): readonly WriteRecord[] | null {
    const missing = this.count - generation;
    if (missing < 0 || missing > this.recent.length) return null;
    return this.recent.slice(this.recent.length - missing);
  }

  record(write: WriteRecord): void {
    this.count++;
    this.recent.push(write);
    this.facts += write.facts?.length ?? 0;
    while (this.recent.length > MAX_WRITES || (this.facts > MAX_FACTS && this.recent.length > 1)) {
      this.facts -= this.recent.shift()?.facts?.length ?? 0;
    }
  }
}

export interface Watchable {
  readonly events: EventLog;
  /** Emits 'cleared' when the tenant's keyspace was cleared, 'changed-elsewhere' when another process wrote it. */
  readonly lifecycle: NodeJS.EventEmitter;
}

const watches = new WeakMap<Watchable, WriteWatch>();

/** The watch of a tenant; the first call subscribes to its event log (writes before it are not seen). */
export function watchWrites(tenant: Watchable): WriteWatch {
  let watch = watches.get(tenant);
  if (watch === undefined) {
    const created = new WriteWatch();
    tenant.events.appended.on('event', (event: TenantEvent) => created.record(summarize(event)));
    // Deleting a tenant clears its keyspace without an event; the same store may then be written anew.
    tenant.lifecycle.on('cleared', () => created.record({ op: 'cleared', outcome: 'ok', facts: null }));
    // Shared storage: another process wrote the tenant; which facts is not known here, so readers start over.
    tenant.lifecycle.on('changed-elsewhere', () => created.record({ op: 'elsewhere', outcome: 'ok', facts: null }));
    watches.set(tenant, created);
    watch = created;
  }
  return watch;
}

function summarize(event: TenantEvent): WriteRecord {
  const listed = event.details?.['facts'];
  const isFactWrite = (event.op === 'told' || event.op === 'retracted') && Array.isArray(listed) && listed.length <= MAX_FACTS;
  return { op: event.op, outcome: event.outcome, facts: isFactWrite ? (listed as unknown[]).map(writtenFact) : null };
}

function writtenFact(raw: unknown): WrittenFact {
  const f = raw as { predicate: string; args: readonly Term[]; negated: boolean; scope: string; version: number };
  return { predicate: f.predicate, args: f.args, negated: f.negated, scope: f.scope, version: f.version };
}
