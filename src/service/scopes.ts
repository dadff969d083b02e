import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { MAIN_SCOPE } from '../domain/fact.js';
import type { StoredFact } from '../domain/fact.js';
import { compareScopes } from '../scopes/compare.js';
import { type DiffRow, diffScopes } from '../scopes/diff.js';
import { flattenDeepChains } from '../scopes/flatten.js';
import { type RevertResult, revertScope } from '../scopes/revert.js';
import { pastMoment } from './time.js';
import { deleteScope, forkScope, freezeTop, requireScope } from '../scopes/lifecycle.js';
import { type MergeConflict, type MergeStrategy, planMerge } from '../scopes/merge.js';
import type { BackgroundRunner } from '../store/background.js';
import type { Catalog } from '../store/catalog.js';
import type { EventDraft } from '../store/event-log.js';
import type { TenantStore } from '../store/tenant-store.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { compareRowKeys, decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';

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
  ) {}

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
    if (source !== MAIN_SCOPE && !this.catalog.exists(address.database)) {
      throw new NotFoundError(`scope '${source}' does not exist`, { scope: source });
    }
    await using held = await this.tenant(address, true);
    const tenant = held.tenant;
    const result = await tenant.transaction(this.clock(), async (tx) => {
      forkScope(tx.scopes, source, target, tx.now, at);
      tx.event(scopeEvent('scope_forked', address, target, at === undefined ? { source } : { source, asOf: at }));
      return at === undefined ? { scope: target, base: source } : { scope: target, base: source, asOf: at };
    });
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

  async diff(address: TenantAddress, sourceName: string, targetName: string, limit: number, cursor: string | null): Promise<DiffPage> {
    await using held = await this.tenant(address, false);
    const tenant = held.tenant;
    const { rows, inBoth } = await tenant.read(this.clock(), async (reader) => {
      const source = requireScope(reader.registry, sourceName);
      const target = requireScope(reader.registry, targetName);
      return diffScopes(await compareScopes(reader, source, target), source, target);
    });
    const fingerprint = queryFingerprint(['diff', sourceName, targetName]);
    // The cursor names the last row sent: rows written meanwhile neither shift nor repeat a page.
    const position = cursor ? decodeCursor(cursor, fingerprint) : null;
    const after = position?.after;
    const start = after ? rows.findIndex((row) => compareRowKeys(row.key, after) > 0) : (position?.skip ?? 0);
    const page = start < 0 ? [] : rows.slice(start, start + limit);
    const last = page[page.length - 1];
    const next = start >= 0 && start + limit < rows.length && last ? encodeCursor({ skip: 0, after: last.key }, fingerprint) : null;
    return { ...splitRows(page), inBoth, cursor: next };
  }

  async merge(address: TenantAddress, sourceName: string, targetName: string, strategy: MergeStrategy): Promise<MergeResult> {
    if (sourceName === targetName) throw new ValidationError('cannot merge a scope into itself', { source: sourceName });
    await using held = await this.tenant(address, true);
    const tenant = held.tenant;
    return await tenant.transaction(this.clock(), async (tx) => {
      const registry = tx.scopes;
      const source = requireScope(registry, sourceName);
      const target = requireScope(registry, targetName);
      const plan = planMerge(await compareScopes(tx, source, target), source, target, strategy, tx.now);
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
    }).finally(() => this.flattenLater(address));
  }

  /** Put a scope back as it stood at `to`, in one batch of ordinary (logged, revertible) writes. */
  async revert(address: TenantAddress, name: string, to: number | string): Promise<RevertResult> {
    const at = pastMoment(to, this.clock(), 'to');
    if (name !== MAIN_SCOPE && !this.catalog.exists(address.database)) throw new NotFoundError(`scope '${name}' does not exist`, { scope: name });
    await using held = await this.tenant(address, true);
    return await held.tenant.transaction(this.clock(), (tx) => revertScope(tx, name, at, address.actor ?? null));
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
