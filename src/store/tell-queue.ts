import { QuotaExceededError } from '../domain/errors.js';
import type { FactInput, StoredFact } from '../domain/fact.js';

/** Limits of what a tenant may hold, checked inside the transaction of each tell (0 = none). */
export interface TellQuota {
  readonly maxFacts: number;
  readonly maxBytes: number;
}

/** A tell waiting for the next batch of its tenant. */
export interface QueuedTell {
  readonly facts: readonly FactInput[];
  readonly now: number;
  readonly actor: string | null;
  readonly quota: TellQuota | null;
  readonly resolve: (stored: StoredFact[]) => void;
  readonly reject: (error: unknown) => void;
}

export type TellOutcome = { readonly stored: StoredFact[] } | { readonly error: unknown };

/** Facts per coalesced batch at most (a larger tell still goes alone, whole). */
const MAX_COALESCED_FACTS = 10_000;

/**
 * Group commit of concurrent tells: the tells queued while a batch is being written go into the
 * next one, in order. `runBatch` writes one batch: inside its transaction it takes the tells (so
 * the ones that arrive while it waits for the tenant's lock join it) and returns each one's
 * outcome; a tell is acknowledged only once that batch is written, and a batch that fails fails
 * every tell in it.
 */
export class TellQueue {
  private readonly queue: QueuedTell[] = [];
  private draining = false;

  constructor(private readonly runBatch: (take: () => QueuedTell[], now: number) => Promise<ReadonlyMap<QueuedTell, TellOutcome>>) {}

  push(facts: readonly FactInput[], now: number, actor: string | null, quota: TellQuota | null): Promise<StoredFact[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ facts, now, actor, quota, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.runOne();
    } finally {
      this.draining = false;
    }
  }

  private take(): QueuedTell[] {
    let facts = 0;
    let count = 0;
    for (const queued of this.queue) {
      if (count > 0 && facts + queued.facts.length > MAX_COALESCED_FACTS) break;
      facts += queued.facts.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async runOne(): Promise<void> {
    let batch: QueuedTell[] = [];
    let outcomes: ReadonlyMap<QueuedTell, TellOutcome>;
    try {
      outcomes = await this.runBatch(() => (batch = this.take()), this.queue[0]?.now ?? Date.now());
    } catch (error) {
      if (batch.length === 0) batch = this.take(); // failed before taking them: they fail with it
      outcomes = new Map(batch.map((queued) => [queued, { error }]));
    }
    for (const queued of batch) {
      const outcome = outcomes.get(queued);
      if (outcome && 'stored' in outcome) queued.resolve(outcome.stored);
      else queued.reject(outcome?.error);
    }
  }
}

/** A tell that would take the tenant past a quota is refused whole (its savepoint is rolled back); one that shrinks or keeps the total passes. */
export function checkQuota(quota: TellQuota, before: { facts: number; bytes: number }, after: { facts: number; bytes: number }): void {
  if (quota.maxFacts > 0 && after.facts > quota.maxFacts && after.facts > before.facts) throw new QuotaExceededError('maxFacts', quota.maxFacts, before.facts, after.facts);
  if (quota.maxBytes > 0 && after.bytes > quota.maxBytes && after.bytes > before.bytes) throw new QuotaExceededError('maxBytes', quota.maxBytes, before.bytes, after.bytes);
}
