import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from '../domain/errors.js';
import { MAIN_SCOPE } from '../domain/fact.js';
import type { StoredFact } from '../domain/fact.js';
import { RunContext, type Budget } from '../engine/index.js';
import { type WalkBudget, baseChainOf, compareScopes } from '../scopes/compare.js';
import { type DiffRow, diffPage } from '../scopes/diff.js';
import { flattenDeepChains } from '../scopes/flatten.js';
import { type RevertResult, revertScope } from '../scopes/revert.js';
import { pastMoment } from './time.js';
import { deleteScope, forkScope, freezeTop, requireScope } from '../scopes/lifecycle.js';
import { type MergeConflict, type MergeStrategy, planMerge } from '../scopes/merge.js';
import type { BackgroundRunner } from '../store/background.js';
import type { Catalog } from '../store/catalog.js';
import type { EventDraft } from '../store/event-log.js';
import type { TenantStore, TenantTransaction } from '../store/tenant-store.js';
import { type TellQuota, checkQuota } from '../store/tell-queue.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';

export interface ScopeSummary {
  readonly name: string;
  readonly base: string | null;
  readonly facts: number;
  readonly createdAt: number;
}

export interface DiffPage {
  readonly onlyInSource: StoredFact[];
  readonly onlyInTarget: StoredFact[];
  readonly inBoth: number;
  readonly conflicts: MergeConflict[];
  readonly cursor: string | null;
}

export interface MergeResult {
  readonly kind: 'up-to-date' | 'merged';
  readonly merged: number;
  readonly conflictsResolved: number;
  readonly strategy: MergeStrategy;
  readonly conflicts: MergeConflict[];
}

/** Scopes as branches inside a tenant: fork, diff, merge, list, delete. */
export class ScopeService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly background: BackgroundRunner,
    /** The tenant's query budget (settings): diffs and merges stop with QUERY_BUDGET_EXCEEDED past it. */
    private readonly budgetOf: (address: TenantAddress) => Promise<Budget> = () => Promise.resolve({}),
    /**
     * The tenant's quotas (settings): a merge copies the source's facts into the target's layer and a
     * revert restores retracted ones, so both can grow a tenant as a tell does, and are held to them.
     */
    private readonly quotaOf: (address: TenantAddress) => Promise<TellQuota> = () => Promise.resolve({ maxFacts: 0, maxBytes: 0 }),
    /** A write refused over a quota (the lifecycle hook `quota.exceeded`). */
    private readonly quotaExceeded: (address: TenantAddress, details: Record<string, unknown>) => Promise<void> = () => Promise.resolve(),
  ) {}

  /** `work` inside one transaction of the tenant, refused whole (403) when it grows the tenant past a quota. */
  private async withinQuota<T>(address: TenantAddress, tenant: TenantStore, work: (tx: TenantTransaction) => Promise<T>): Promise<T> {
    const quota = await this.quotaOf(address);
    try {
      return await tenant.transaction(this.clock(), async (tx) => {
        const before = { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes };
        const result = await work(tx);
        checkQuota(quota, before, { facts: tx.scopes.totalFacts(), bytes: tx.scopes.storedBytes });
        return result;
      });
    } catch (error) {
      if (error instanceof QuotaExceededError) await this.quotaExceeded(address, error.details ?? {}).catch(() => undefined);
      throw error;
    }
  }

  /** The tenant's store under a lease of its database: hold the lease (`await using`) for as long as the store is used. */
  private async tenant(address: TenantAddress, write: boolean): Promise<{ tenant: TenantStore } & AsyncDisposable> {
    const lease = write ? await this.catalog.forWrite(address.database) : await this.catalog.forRead(address.database);
    return { tenant: lease.database.tenant(address.tenant), [Symbol.asyncDispose]: async () => lease.release() };
  }

  async list(address: TenantAddress): Promise<ScopeSummary[]> {
    await using held = await this.tenant(address, false);
    const tenant = held.tenant;
    const registry = await tenant.scopes(this.clock());
    return registry.all().map((s) => ({ name: s.name, base: s.base, facts: registry.countOf(s.chain), createdAt: s.createdAt }));
  }

  async fork(address: TenantAddress, source: string, target: string, asOf?: number | string): Promise<{ scope: string; base: string; asOf?: number }> {
    const at = asOf === undefined ? undefined : pastMoment(asOf, this.clock(), 'asOf');
    // Only `main` exists before a database's first write: a fork from anything else must not create it.
    if (source !== MAIN_SCOPE && !(await this.catalog.existsNow(address.database))) {
      throw new NotFoundError(`scope '${source}' does not exist`, { scope: source });
    }
    await using held = await this.tenant(address, true);
    const tenant = held.tenant;
    const result = await tenant.transaction(this.clock(), async (tx) => forkWithin(tx, address, source, target, at));
    this.flattenLater(address);
    return result;
  }

  /** Deep chains are folded in the background, after the request that deepened them. */
  private flattenLater(address: TenantAddress): void {
    this.background.run('flatten', { database: address.database, tenant: address.tenant }, () => this.flatten(address));
  }

  /** Under its own lease: the request's lease is released by the time the background runs. */
  private async flatten(address: TenantAddress): Promise<void> {
    await using held = await this.tenant(address, false);
    await flattenDeepChains(held.tenant, this.clock());
  }

  /**
   * One page of a diff, costing what the page reads: the cursor names the last row sent and the
   * walk resumes at its key (see scopes/diff.ts). `inBoth` is a running figure the cursor carries:
   * exact on the last page (no cursor); before it, an upper bound that counts every fact of the
   * base not walked yet as unchanged (exact would mean walking the whole diff on the first page).
   */
  async diff(address: TenantAddress, sourceName: string, targetName: string, limit: number, cursor: string | null, signal?: AbortSignal): Promise<DiffPage> {
    const fingerprint = queryFingerprint(['diff-keyset', sourceName, targetName]);
    const position = cursor ? decodeCursor(cursor, fingerprint) : null;
    const after = position?.after ?? null;
    if (position && (after === null || position.tally === undefined)) throw new ValidationError('invalid cursor', { field: 'cursor' });
    const context = new RunContext(signal, false, await this.budgetOf(address));
    await using held = await this.tenant(address, false);
    const tenant = held.tenant;
    const { page, base } = await tenant.read(this.clock(), async (reader) => {
      const source = requireScope(reader.registry, sourceName);
      const target = requireScope(reader.registry, targetName);
      const page = await diffPage(reader, source, target, { after, limit, budget: context });
      return { page, base: reader.registry.countOf(baseChainOf(source, target)) };
    });
    const inBoth = (position?.tally ?? base) + page.inBoth;
    const last = page.rows[page.rows.length - 1];
    const next = page.more && last ? encodeCursor({ skip: 0, after: last.key, tally: inBoth }, fingerprint) : null;
    return { ...splitRows(page.rows), inBoth, cursor: next };
  }

  /** A merge reads under the tenant's query budget too: over it, nothing is written. */
  async merge(address: TenantAddress, sourceName: string, targetName: string, strategy: MergeStrategy, signal?: AbortSignal): Promise<MergeResult> {
    if (sourceName === targetName) throw new ValidationError('cannot merge a scope into itself', { source: sourceName });
    const budget = await this.budgetOf(address);
    await using held = await this.tenant(address, true);
    const tenant = held.tenant;
    // The budget's clock starts once the tenant's write lock is held: waiting for other writers is not the merge's work.
    return await this.withinQuota(address, tenant, (tx) => mergeWithin(tx, address, sourceName, targetName, strategy, new RunContext(signal, false, budget))).finally(() => this.flattenLater(address));
  }

  /** Put a scope back as it stood at `to`, in one batch of ordinary (logged, revertible) writes. */
  async revert(address: TenantAddress, name: string, to: number | string): Promise<RevertResult> {
    const at = pastMoment(to, this.clock(), 'to');
    if (name !== MAIN_SCOPE && !(await this.catalog.existsNow(address.database))) throw new NotFoundError(`scope '${name}' does not exist`, { scope: name });
    await using held = await this.tenant(address, true);
    return await this.withinQuota(address, held.tenant, (tx) => revertScope(tx, name, at, address.actor ?? null));
  }

  async remove(address: TenantAddress, name: string): Promise<{ deleted: boolean; scope: string }> {
    await using held = await this.tenant(address, false);
    const tenant = held.tenant;
    return await tenant.transaction(this.clock(), async (tx) => {
      deleteScope(tx, name);
      tx.event(scopeEvent('scope_deleted', address, name, {}));
      return { deleted: true, scope: name };
    }).finally(() => this.flattenLater(address));
  }
}

/** A merge inside a transaction of the tenant (a merge request, or a client transaction's commit). */
export async function mergeWithin(
  tx: TenantTransaction,
  address: TenantAddress,
  sourceName: string,
  targetName: string,
  strategy: MergeStrategy,
  /** The request's evaluation budget and cancellation (absent: a transaction's commit, already admitted). */
  budget?: WalkBudget,
): Promise<MergeResult> {
  const registry = tx.scopes;
  const source = requireScope(registry, sourceName);
  const target = requireScope(registry, targetName);
  const plan = planMerge(await compareScopes(tx, source, target, budget), source, target, strategy, tx.now);
  if (plan.kind === 'conflicts') {
    throw new ConflictError(`merge rejected: ${plan.conflicts.length} conflict(s)`, { conflicts: plan.conflicts, strategy });
  }
  // The source's current state becomes the base of the next merge between the two.
  const frozen = freezeTop(registry, source);
  const updatedTarget = registry.get(targetName) ?? target;
  registry.put({ ...updatedTarget, merges: { ...updatedTarget.merges, [sourceName]: frozen.chain.slice(1) } });
  if (plan.kind === 'merged') {
    registry.adjustCount(target.chain[0] as number, plan.countDelta);
    for (const write of plan.writes) {
      if (write.record === null) tx.removeFact(write.key, target.chain, address.actor ?? null, write.version);
      else tx.putFact(write.key, target.chain, write.record, { vectorFrom: source.chain }, address.actor ?? null);
    }
  }
  const details = { source: sourceName, strategy, result: plan.kind, conflicts: plan.conflicts.length };
  tx.event(scopeEvent('scope_merged', address, targetName, details));
  const merged = plan.kind === 'merged' ? plan.changes : 0;
  return { kind: plan.kind, merged, conflictsResolved: plan.conflicts.length, strategy, conflicts: plan.conflicts };
}

/** A fork inside a transaction of the tenant. */
export function forkWithin(tx: TenantTransaction, address: TenantAddress, source: string, target: string, at?: number): { scope: string; base: string; asOf?: number } {
  forkScope(tx.scopes, source, target, tx.now, at);
  tx.event(scopeEvent('scope_forked', address, target, at === undefined ? { source } : { source, asOf: at }));
  return at === undefined ? { scope: target, base: source } : { scope: target, base: source, asOf: at };
}

function scopeEvent(op: string, address: TenantAddress, scope: string, details: Record<string, unknown>): EventDraft {
  return { op, actor: address.actor ?? null, target: scope, outcome: 'ok', scope, details };
}

function splitRows(rows: DiffRow[]): Pick<DiffPage, 'onlyInSource' | 'onlyInTarget' | 'conflicts'> {
  const out = { onlyInSource: [] as StoredFact[], onlyInTarget: [] as StoredFact[], conflicts: [] as MergeConflict[] };
  for (const row of rows) {
    if (row.kind === 'only-in-source') out.onlyInSource.push(row.fact);
    else if (row.kind === 'only-in-target') out.onlyInTarget.push(row.fact);
    else out.conflicts.push(row.conflict);
  }
  return out;
}
