import { ConflictError } from '../domain/errors.js';
import {
  type FactInput,
  type FactKey,
  type FactPattern,
  type FactRecord,
  type StoredFact,
  factKeyId,
  type Term,
  isVisibleAt,
} from '../domain/fact.js';
import { type LayerId, indexKeysOf, listingKeyOf, primaryKeyOf } from '../encoding/fact-keys.js';
import { TOMBSTONE_VALUE, decodeEntryValue, encodeRecord } from '../encoding/records.js';
import { type MatchOptions, type MatchedFact, type ScopeView, estimateFacts, matchFacts } from './fact-reader.js';
import { type EventDraft, EventLog, type TenantEvent } from './event-log.js';
import type { BatchOp, LevelSublevel } from './level-types.js';
import { type ScopeRecord, ScopeRegistry } from './scope-registry.js';
import { WriteLock } from './write-lock.js';

/** What the tenant store needs from its database: atomic batches and tenant registration. */
export interface TenantHost {
  readonly database: string;
  write(ops: BatchOp[]): Promise<void>;
  /** Ops registering the tenant if this is its first write (empty otherwise). */
  registrationOps(tenant: string): BatchOp[];
  /** Called once the registration ops were committed. */
  registered(tenant: string): void;
}

/**
 * The facts and scopes of one tenant: a sublevel of its database. All writes of a tenant run
 * one at a time (checks read the current state, then one atomic batch writes), reads run freely.
 */
export class TenantStore {
  private registry: ScopeRegistry | null = null;
  private loading: Promise<ScopeRegistry> | null = null;
  private generation = 0;
  readonly lock = new WriteLock();
  readonly events: EventLog;

  constructor(
    private readonly host: TenantHost,
    readonly name: string,
    readonly sub: LevelSublevel,
  ) {
    this.events = new EventLog(sub);
  }

  /**
   * The tenant's scopes, loaded once and shared by concurrent callers. A load that started before
   * the cache was dropped (generation changed) never installs what it read.
   */
  async scopes(now: number): Promise<ScopeRegistry> {
    if (this.registry) return this.registry;
    if (!this.loading) {
      const generation = this.generation;
      this.loading = ScopeRegistry.load(this.sub, now).finally(() => {
        if (generation === this.generation) this.loading = null;
      });
    }
    const generation = this.generation;
    const loaded = await this.loading;
    if (generation !== this.generation) return this.scopes(now);
    return (this.registry ??= loaded);
  }

  /** Drop the cached scopes (and any load in flight): the next caller reads them from disk. */
  private dropScopes(): void {
    this.registry = null;
    this.loading = null;
    this.generation++;
  }

  /**
   * Commit ops plus the scope changes, tenant registration and events they depend on, in one
   * atomic batch (call under `lock`); on failure forget cached state so it is read again.
   */
  async commit(ops: BatchOp[], drafts: readonly EventDraft[] = [], now = Date.now()): Promise<TenantEvent[]> {
    const registry = this.registry;
    const logged = await this.events.append(drafts, now);
    const all = [...this.host.registrationOps(this.name), ...(registry ? registry.flush() : []), ...ops, ...logged.ops];
    try {
      await this.host.write(all);
      this.host.registered(this.name);
    } catch (error) {
      this.dropScopes();
      this.events.reset();
      throw error;
    }
    this.events.publish(logged.events);
    return logged.events;
  }

  /** Store facts (upserts), all or nothing. Telling p while NOT p holds in that scope is a conflict. */
  tell(facts: readonly FactInput[], now: number, actor: string | null = null): Promise<StoredFact[]> {
    return this.lock.run(async () => {
      const registry = await this.scopes(now);
      const chains = facts.map((f) => (registry.get(f.scope) ?? registry.createRoot(f.scope, now)).chain);
      const existing = await this.lookup(facts, chains);
      const pending = new Map<string, FactRecord | null>();
      const ops: BatchOp[] = [];
      const stored = facts.map((input, i) => {
        const chain = chains[i] as readonly LayerId[];
        const sameId = input.scope + '\0' + factKeyId(input);
        const opposite = { ...input, negated: !input.negated };
        const contradicting = pending.has(input.scope + '\0' + factKeyId(opposite))
          ? pending.get(input.scope + '\0' + factKeyId(opposite))
          : existing.opposite[i];
        if (contradicting && isVisibleAt(contradicting, now)) throw this.forgetScopes(contradiction(input));
        const previous = pending.has(sameId) ? pending.get(sameId) : existing.same[i];
        if (!previous) registry.adjustCount(chain[0] as LayerId, 1);
        const record = recordFor(input, previous ?? null, now);
        pending.set(sameId, record);
        ops.push(...this.putOps(input, chain, record));
        return { predicate: input.predicate, args: input.args, negated: input.negated, scope: input.scope, ...record };
      });
      await this.commit(ops, [factEvent('told', actor, stored)], now);
      return stored;
    });
  }

  /** Ops writing one fact's record into the top layer of a chain (and listing it if the layer is not a root). */
  putOps(key: FactKey, chain: readonly LayerId[], record: FactRecord | null): BatchOp[] {
    const layer = chain[0] as LayerId;
    const value = record === null ? TOMBSTONE_VALUE : encodeRecord(record);
    const ops: BatchOp[] = indexKeysOf(key, layer).map((k) => ({ type: 'put', key: k, value, sublevel: this.sub }));
    if (chain.length > 1) ops.push({ type: 'put', key: listingKeyOf(key, layer), value: '', sublevel: this.sub });
    return ops;
  }

  /** Ops removing a fact from a chain's top layer: a delete in a root layer, a tombstone over a parent. */
  removeOps(key: FactKey, chain: readonly LayerId[]): BatchOp[] {
    if (chain.length > 1) return this.putOps(key, chain, null);
    return indexKeysOf(key, chain[0] as LayerId).map((k) => ({ type: 'del', key: k, sublevel: this.sub }));
  }

  /** The nearest record of each fact and of its opposite polarity, in one multi-get. */
  private async lookup(facts: readonly FactInput[], chains: readonly (readonly LayerId[])[]) {
    const keys: string[] = [];
    facts.forEach((f, i) => {
      for (const layer of chains[i] as readonly LayerId[]) {
        keys.push(primaryKeyOf(f, layer), primaryKeyOf({ ...f, negated: !f.negated }, layer));
      }
    });
    const values = keys.length === 0 ? [] : await this.sub.getMany(keys);
    const same: (FactRecord | null)[] = [];
    const opposite: (FactRecord | null)[] = [];
    let at = 0;
    facts.forEach((_, i) => {
      let s: FactRecord | null | undefined;
      let o: FactRecord | null | undefined;
      for (let d = 0; d < (chains[i] as readonly LayerId[]).length; d++, at += 2) {
        if (s === undefined) s = recordOf(values[at]);
        if (o === undefined) o = recordOf(values[at + 1]);
      }
      same.push(s ?? null);
      opposite.push(o ?? null);
    });
    return { same, opposite };
  }

  /** Retract the facts matching a pattern in one scope, or in every scope where they are visible. */
  retract(
    scope: string | null,
    pattern: FactPattern,
    now: number,
    accepts: (args: readonly Term[]) => boolean = () => true,
    actor: string | null = null,
  ): Promise<number> {
    return this.lock.run(async () => {
      const registry = await this.scopes(now);
      const targets = scope === null ? registry.all() : [registry.get(scope)].filter((s) => s !== undefined);
      const ops: BatchOp[] = [];
      const removed: StoredFact[] = [];
      for (const target of targets) {
        const view: ScopeView = { kind: 'scope', scope: target };
        for await (const { fact } of matchFacts(this.sub, view, pattern, { now, includeInvisible: true })) {
          if (!accepts(fact.args)) continue;
          if (isVisibleAt(fact, now)) removed.push(fact);
          registry.adjustCount(target.chain[0] as LayerId, -1);
          ops.push(...this.removeOps(fact, target.chain));
        }
      }
      if (ops.length > 0) await this.commit(ops, removed.length > 0 ? [factEvent('retracted', actor, removed)] : [], now);
      return removed.length;
    });
  }

  async view(scope: string | null, now: number): Promise<ScopeView | null> {
    const registry = await this.scopes(now);
    if (scope === null) return { kind: 'all', scopes: registry.all() };
    const record = registry.get(scope);
    return record ? { kind: 'scope', scope: record } : null;
  }

  match(view: ScopeView, pattern: FactPattern, options: MatchOptions): AsyncGenerator<MatchedFact> {
    return matchFacts(this.sub, view, pattern, options);
  }

  estimate(pattern: FactPattern): Promise<number> {
    return estimateFacts(this.sub, pattern);
  }

  /**
   * A refused tell may already have created scopes and counted facts in the cached registry;
   * forget it so those changes are not flushed by the next commit (it is read again from disk).
   */
  private forgetScopes(error: Error): Error {
    this.dropScopes();
    return error;
  }

  /** Forget cached state (after the tenant's data was removed). */
  reset(): void {
    this.dropScopes();
    this.events.reset();
  }
}

function recordOf(raw: string | undefined): FactRecord | null | undefined {
  if (raw === undefined) return undefined;
  const entry = decodeEntryValue(raw);
  return entry.kind === 'record' ? entry.record : null;
}

function recordFor(input: FactInput, previous: FactRecord | null, now: number): FactRecord {
  const alive = previous !== null && isVisibleAt(previous, now);
  return {
    version: previous ? previous.version + 1 : 1,
    createdAt: alive && previous ? previous.createdAt : now,
    updatedAt: now,
    confidence: input.confidence,
    ttl: input.ttl,
    expiresAt: input.ttl === null ? null : now + input.ttl,
    validFrom: input.validFrom,
    validUntil: input.validUntil,
    metadata: input.metadata,
  };
}

/** The event of a fact write: which facts (keys and versions, not their metadata) in which scopes. */
function factEvent(op: 'told' | 'retracted', actor: string | null, facts: readonly StoredFact[]): EventDraft {
  const predicates = [...new Set(facts.map((f) => f.predicate))];
  const scopes = [...new Set(facts.map((f) => f.scope))];
  return {
    op,
    actor,
    target: predicates.slice(0, 10).join(',') + (predicates.length > 10 ? ',…' : ''),
    outcome: 'ok',
    scope: scopes.length === 1 ? (scopes[0] as string) : null,
    details: {
      count: facts.length,
      facts: facts.map((f) => ({ predicate: f.predicate, args: f.args, negated: f.negated, scope: f.scope, version: f.version })),
    },
  };
}

function contradiction(input: FactInput): ConflictError {
  const polarity = input.negated ? 'holds' : 'is negated';
  return new ConflictError(`contradiction: ${input.predicate}/${input.args.length} ${polarity} in scope '${input.scope}'`, {
    predicate: input.predicate,
    args: input.args,
    negated: input.negated,
    scope: input.scope,
  });
}

export type { ScopeRecord };
