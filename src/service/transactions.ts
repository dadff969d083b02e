import { randomBytes } from 'node:crypto';
import type { RetractBody, TellBody } from '../contract/facts.js';
import { ConflictError, NotFoundError, QuotaExceededError, TooManyTransactionsError, TransactionConflictError, TransactionNotFoundError, ValidationError } from '../domain/errors.js';
import { type FactInput, type StoredFact, isVisibleAt } from '../domain/fact.js';
import type { Principal } from '../domain/principal.js';
import { compareScopes } from '../scopes/compare.js';
import { requireScope } from '../scopes/lifecycle.js';
import { type MergeStrategy, planMerge } from '../scopes/merge.js';
import type { Catalog } from '../store/catalog.js';
import { markRetracted, recordFor, retractFacts } from '../store/fact-writes.js';
import type { TenantReads } from '../store/tenant-reads.js';
import type { TenantStore, TenantTransaction } from '../store/tenant-store.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import type { FactService } from './facts.js';
import { compilePattern } from './pattern.js';
import type { ReadLens } from './query.js';
import { type MergeResult, forkWithin, mergeWithin } from './scopes.js';
import { FactOverlay, OverlayReads, type RecordedRead, changedSince } from './transaction-overlay.js';

/** What a transaction will do at its commit, in order. */
type Step =
  | { readonly kind: 'tell'; facts: FactInput[] }
  | { readonly kind: 'retract'; readonly facts: readonly StoredFact[] }
  | { readonly kind: 'fork'; readonly source: string; readonly target: string }
  | { readonly kind: 'merge'; readonly source: string; readonly target: string; readonly strategy: MergeStrategy };

interface OpenTransaction {
  readonly id: string;
  readonly database: string;
  readonly tenant: string;
  /** The key that opened it: only that key may use it. */
  readonly keyId: string | null;
  /** Its tenant's transactionIdleSeconds when it began. */
  readonly idleMs: number;
  lastUsed: number;
  readonly overlay: FactOverlay;
  readonly reads: RecordedRead[];
  readonly steps: Step[];
  /** Scopes forked by the transaction (they exist only at its commit). */
  readonly forked: Set<string>;
  /** Calls of one transaction run one after another. */
  queue: Promise<unknown>;
}

/** Reads one transaction may record (each is repeated at its commit). */
const MAX_READS = 10_000;

export interface TransactionLimits {
  readonly idleMs: number;
  readonly maxOpen: number;
  /** The tenant's quotas, checked at commit as a tell checks them (0 = none). */
  readonly maxFacts: number;
  readonly maxBytes: number;
}

const sameFact = (a: StoredFact | FactInput, b: StoredFact | FactInput) =>
  a.scope === b.scope && a.predicate === b.predicate && a.negated === b.negated && a.args.length === b.args.length && a.args.every((x, i) => x === b.args[i]);

/**
 * Client transactions (`/tx/*`, `X-Transaction-ID`): writes are buffered and answered as if
 * applied, reads see them over the snapshot, and the commit applies everything in one tenant
 * transaction after checking that nothing the transaction read has changed (optimistic
 * concurrency: every read is repeated against the state at commit). They live in this process's
 * memory only: a restart rolls back every open transaction, and only a commit is durable.
 */
export class TransactionService {
  private readonly open = new Map<string, OpenTransaction>();
  private lastSweep = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly facts: FactService,
    private readonly limitsOf: (address: TenantAddress) => Promise<TransactionLimits>,
  ) {}

  async begin(address: TenantAddress, principal: Principal): Promise<{ transactionId: string }> {
    const limits = await this.limitsOf(address);
    const now = this.clock();
    this.sweep(now, true);
    const mine = [...this.open.values()].filter((t) => t.database === address.database && t.tenant === address.tenant).length;
    if (mine >= limits.maxOpen) throw new TooManyTransactionsError(limits.maxOpen);
    // 192 random bits: an id cannot be guessed, and says nothing about its tenant.
    const id = `tx_${randomBytes(24).toString('base64url')}`;
    this.open.set(id, {
      id,
      database: address.database,
      tenant: address.tenant,
      keyId: principal.id,
      idleMs: limits.idleMs,
      lastUsed: now,
      overlay: new FactOverlay(),
      reads: [],
      steps: [],
      forked: new Set(),
      queue: Promise.resolve(),
    });
    return { transactionId: id };
  }

  /** Forget every transaction idle past its limit: on each begin, and at most once a second on other calls (no timer to stop). */
  private sweep(now: number, always = false): void {
    if (!always && now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [id, t] of this.open) if (now - t.lastUsed > t.idleMs) this.open.delete(id);
  }

  /** The caller's open transaction; anything else (another tenant's, another key's, expired) is the same 404. */
  private find(address: TenantAddress, principal: Principal, id: string): OpenTransaction {
    const now = this.clock();
    this.sweep(now);
    const t = this.open.get(id);
    if (t === undefined || t.database !== address.database || t.tenant !== address.tenant || t.keyId !== principal.id) throw new TransactionNotFoundError(id);
    if (now - t.lastUsed > t.idleMs) {
      this.open.delete(id);
      throw new TransactionNotFoundError(id);
    }
    t.lastUsed = now;
    return t;
  }

  /** Run one call of a transaction after the calls before it. */
  private async within<T>(address: TenantAddress, principal: Principal, id: string, work: (t: OpenTransaction) => Promise<T>): Promise<T> {
    const t = this.find(address, principal, id);
    const run = t.queue.then(() => {
      if (this.open.get(id) !== t) throw new TransactionNotFoundError(id);
      return work(t);
    });
    t.queue = run.catch(() => undefined);
    return await run;
  }

  /** How the transaction's reads see the tenant (for ask and the fact listing). */
  async lens(address: TenantAddress, principal: Principal, id: string): Promise<ReadLens> {
    const t = this.find(address, principal, id);
    return {
      hasWrites: !t.overlay.isEmpty,
      wrap: (reader) => new OverlayReads(reader, t.overlay, (read) => this.recordRead(t, read)),
    };
  }

  private recordRead(t: OpenTransaction, read: RecordedRead): void {
    if (t.reads.length >= MAX_READS) throw new ValidationError(`a transaction may read at most ${MAX_READS} times: commit it and start another`, { transactionId: t.id });
    t.reads.push(read);
  }

  /** Read the snapshot through the transaction (nothing when the database does not exist yet). */
  private async read<T>(address: TenantAddress, t: OpenTransaction, empty: T, work: (reads: OverlayReads, reader: TenantReads, now: number) => Promise<T>): Promise<T> {
    if (!(await this.catalog.existsNow(address.database))) return empty;
    await using lease = await this.catalog.forRead(address.database);
    const now = this.clock();
    return await lease.database.tenant(address.tenant).read(now, (reader) => work(new OverlayReads(reader, t.overlay, (read) => this.recordRead(t, read)), reader, now));
  }

  async tell(address: TenantAddress, principal: Principal, id: string, body: TellBody): Promise<StoredFact[]> {
    const inputs = await this.facts.prepare(address, body);
    return this.within(address, principal, id, async (t) => {
      const now = this.clock();
      const stored = await this.read(address, t, null, async (reads) => {
        const out: StoredFact[] = [];
        for (const input of inputs) out.push(await told(reads, input, now, out));
        return out;
      });
      const facts = stored ?? inputs.map((input) => ({ predicate: input.predicate, args: input.args, negated: input.negated, scope: input.scope, ...recordFor(input, null, now) }));
      for (const fact of facts) t.overlay.put(fact);
      t.steps.push({ kind: 'tell', facts: [...inputs] });
      return facts;
    });
  }

  async retract(address: TenantAddress, principal: Principal, id: string, body: RetractBody): Promise<number> {
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    return this.within(address, principal, id, async (t) => {
      const matched = await this.read(address, t, [] as StoredFact[], async (reads) => {
        const scopes = body.scope == null ? reads.view(null) : reads.view(body.scope);
        if (scopes === null) return [];
        const out: StoredFact[] = [];
        for (const scope of scopes.kind === 'scope' ? [scopes.scope] : scopes.scopes) {
          for await (const { fact } of reads.match({ kind: 'scope', scope }, compiled.pattern, { now: this.clock(), includeInvisible: true })) if (compiled.accepts(fact.args)) out.push(fact);
        }
        return out;
      });
      const now = this.clock();
      for (const fact of matched) {
        t.overlay.remove(fact.scope, fact);
        // A fact this transaction told is simply not told (the store holds nothing of it to retract).
        for (const step of t.steps) if (step.kind === 'tell') step.facts = step.facts.filter((f) => !sameFact(f, fact));
      }
      t.steps.push({ kind: 'retract', facts: matched });
      return matched.filter((f) => isVisibleAt(f, now)).length;
    });
  }

  async fork(address: TenantAddress, principal: Principal, id: string, source: string, target: string): Promise<{ scope: string; base: string }> {
    return this.within(address, principal, id, async (t) => {
      await this.read(address, t, null, async (reads) => {
        if (reads.view(source) === null && !t.forked.has(source)) throw new NotFoundError(`scope '${source}' does not exist`, { scope: source });
        if (reads.view(target) !== null || t.forked.has(target)) throw new ConflictError(`scope '${target}' already exists`, { scope: target });
      });
      t.forked.add(target);
      t.steps.push({ kind: 'fork', source, target });
      return { scope: target, base: source };
    });
  }

  /**
   * A merge is planned now against the snapshot (its answer) and applied at commit. It cannot
   * see facts the transaction itself wrote into either scope, nor a scope the transaction forked:
   * such a merge is refused rather than answered wrongly.
   */
  async merge(address: TenantAddress, principal: Principal, id: string, sourceName: string, targetName: string, strategy: MergeStrategy): Promise<MergeResult> {
    if (sourceName === targetName) throw new ValidationError('cannot merge a scope into itself', { source: sourceName });
    return this.within(address, principal, id, async (t) => {
      const touched = (name: string) => t.forked.has(name) || t.overlay.added(null, new Set([name])).length > 0 || t.steps.some((s) => s.kind === 'retract' && s.facts.some((f) => f.scope === name));
      const busy = [sourceName, targetName].filter(touched);
      if (busy.length > 0) throw new ValidationError(`a merge in a transaction cannot see the transaction's own changes to '${busy.join("', '")}': commit them first`, { scopes: busy });
      const result = await this.read(address, t, null, async (reads, reader, now) => {
        const source = requireScope(reader.registry, sourceName);
        const target = requireScope(reader.registry, targetName);
        // Recorded as reads of both scopes whole: a change to either before the commit is a conflict.
        for (const scope of [source, target]) for await (const _ of reads.allFacts({ kind: 'scope', scope }, { now, includeInvisible: true }));
        const plan = planMerge(await compareScopes(reader, source, target), source, target, strategy, now);
        if (plan.kind === 'conflicts') throw new ConflictError(`merge rejected: ${plan.conflicts.length} conflict(s)`, { conflicts: plan.conflicts, strategy });
        return { kind: plan.kind, merged: plan.kind === 'merged' ? plan.changes : 0, conflictsResolved: plan.conflicts.length, strategy, conflicts: plan.conflicts } satisfies MergeResult;
      });
      if (result === null) throw new NotFoundError(`scope '${sourceName}' does not exist`, { scope: sourceName });
      t.steps.push({ kind: 'merge', source: sourceName, target: targetName, strategy });
      return result;
    });
  }

  async rollback(address: TenantAddress, principal: Principal, id: string): Promise<{ transactionId: string; rolledBack: true }> {
    return this.within(address, principal, id, async (t) => {
      this.open.delete(t.id);
      return { transactionId: t.id, rolledBack: true };
    });
  }

  /** Apply everything in one tenant transaction, or nothing; the transaction ends either way. */
  async commit(address: TenantAddress, principal: Principal, id: string): Promise<{ transactionId: string; committed: true; applied: number }> {
    return this.within(address, principal, id, async (t) => {
      this.open.delete(t.id);
      const applied = t.steps.reduce((n, s) => n + (s.kind === 'tell' || s.kind === 'retract' ? s.facts.length : 1), 0);
      if (t.steps.length === 0 && t.reads.length === 0) return { transactionId: t.id, committed: true, applied: 0 };
      const quota = await this.limitsOf(address);
      // A transaction that only read writes nothing: it must not create its database.
      await using lease = t.steps.length === 0 ? await this.catalog.forRead(address.database) : await this.catalog.forWrite(address.database);
      const tenant = lease.database.tenant(address.tenant);
      await tenant.transaction(this.clock(), async (tx) => {
        await checkReads(tx, t);
        const before = { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes };
        await applySteps(tenant, tx, address, t.steps);
        checkQuota(quota, before, { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes });
      });
      return { transactionId: t.id, committed: true, applied };
    });
  }

  /** Open transactions (tests, metrics). */
  get size(): number {
    return this.open.size;
  }
}

/** A tell answered as if applied: the version it would get, refused now if NOT p holds (or p, for NOT p) in that scope. */
async function told(reads: OverlayReads, input: FactInput, now: number, earlier: readonly StoredFact[]): Promise<StoredFact> {
  const view = reads.view(input.scope);
  const find = async (negated: boolean): Promise<StoredFact | null> => {
    const mine = earlier.findLast((f) => f.negated === negated && sameFact(f, { ...input, negated }));
    if (mine) return mine;
    if (view === null) return null;
    for await (const { fact } of reads.match(view, { predicate: input.predicate, args: input.args, negated }, { now, includeInvisible: true })) if (fact.scope === input.scope) return fact;
    return null;
  };
  const opposite = await find(!input.negated);
  if (opposite && isVisibleAt(opposite, now)) {
    throw new ConflictError(`contradiction: ${input.negated ? '' : 'NOT '}${input.predicate} holds in scope '${input.scope}'`, { predicate: input.predicate, args: [...input.args], scope: input.scope });
  }
  const previous = await find(input.negated);
  return { predicate: input.predicate, args: input.args, negated: input.negated, scope: input.scope, ...recordFor(input, previous, now) };
}

/** As a tell: a commit that would take the tenant past a quota (and grows it) is refused whole. */
function checkQuota(quota: TransactionLimits, before: { facts: number; bytes: number }, after: { facts: number; bytes: number }): void {
  if (quota.maxFacts > 0 && after.facts > quota.maxFacts && after.facts > before.facts) throw new QuotaExceededError('maxFacts', quota.maxFacts, before.facts, after.facts);
  if (quota.maxBytes > 0 && after.bytes > quota.maxBytes && after.bytes > before.bytes) throw new QuotaExceededError('maxBytes', quota.maxBytes, before.bytes, after.bytes);
}

/** Every read of the transaction, repeated against the state now: any difference fails the commit. */
async function checkReads(tx: TenantTransaction, t: OpenTransaction): Promise<void> {
  const changed = new Set<string>();
  for (const read of t.reads) for (const signature of await changedSince(tx, read)) changed.add(signature);
  if (changed.size === 0) return;
  const conflicts = [...changed].slice(0, 100).map((signature) => {
    const [scope, key, version] = JSON.parse(signature) as [string, string, number];
    const [predicate, negated, ...args] = JSON.parse(key) as [string, number, ...unknown[]];
    return { predicate, args, negated: negated === 1, scope, version };
  });
  throw new TransactionConflictError(t.id, conflicts);
}

async function applySteps(tenant: TenantStore, tx: TenantTransaction, address: TenantAddress, steps: readonly Step[]): Promise<void> {
  const actor = address.actor ?? null;
  // What earlier steps wrote or retracted: the tells after them see it.
  const pending = new Map();
  for (const step of steps) {
    if (step.kind === 'tell') {
      if (step.facts.length > 0) await tenant.tellWithin(tx, step.facts, actor, pending);
    } else if (step.kind === 'retract') {
      for (const fact of step.facts) {
        const removed = await retractFacts(tx, fact.scope, { predicate: fact.predicate, args: fact.args, negated: fact.negated }, () => true, actor);
        markRetracted(pending, removed);
      }
    } else if (step.kind === 'fork') {
      forkWithin(tx, address, step.source, step.target);
    } else {
      await mergeWithin(tx, address, step.source, step.target, step.strategy);
    }
  }
}
