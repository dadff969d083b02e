import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { MAIN_SCOPE } from '../domain/fact.js';
import type { StoredFact } from '../domain/fact.js';
import { compareScopes } from '../scopes/compare.js';
import { type DiffRow, diffScopes } from '../scopes/diff.js';
import { flattenDeepChains } from '../scopes/flatten.js';
import { deleteScope, forkScope, freezeTop, requireScope } from '../scopes/lifecycle.js';
import { type MergeConflict, type MergeStrategy, planMerge } from '../scopes/merge.js';
import type { Catalog } from '../store/catalog.js';
import type { EventDraft } from '../store/event-log.js';
import type { TenantStore } from '../store/tenant-store.js';
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
  ) {}

  private async tenant(address: TenantAddress, write: boolean): Promise<TenantStore> {
    const database = write ? await this.catalog.forWrite(address.database) : await this.catalog.forRead(address.database);
    return database.tenant(address.tenant);
  }

  async list(address: TenantAddress): Promise<ScopeSummary[]> {
    const tenant = await this.tenant(address, false);
    const registry = await tenant.scopes(this.clock());
    return registry.all().map((s) => ({ name: s.name, base: s.base, facts: registry.countOf(s.chain), createdAt: s.createdAt }));
  }

  async fork(address: TenantAddress, source: string, target: string): Promise<{ scope: string; base: string }> {
    // Only `main` exists before a database's first write: a fork from anything else must not create it.
    if (source !== MAIN_SCOPE && !this.catalog.exists(address.database)) {
      throw new NotFoundError(`scope '${source}' does not exist`, { scope: source });
    }
    const tenant = await this.tenant(address, true);
    const result = await tenant.lock.run(async () => {
      const registry = await tenant.scopes(this.clock());
      forkScope(registry, source, target, this.clock());
      await tenant.commit([], [scopeEvent('scope_forked', address, target, { source })]);
      return { scope: target, base: source };
    });
    this.flattenLater(tenant);
    return result;
  }

  /** Deep chains are folded in the background, after the request that deepened them. */
  private flattenLater(tenant: TenantStore): void {
    setImmediate(() => void flattenDeepChains(tenant, this.clock()).catch(() => undefined));
  }

  async diff(address: TenantAddress, sourceName: string, targetName: string, limit: number, cursor: string | null): Promise<DiffPage> {
    const tenant = await this.tenant(address, false);
    const now = this.clock();
    const registry = await tenant.scopes(now);
    const source = requireScope(registry, sourceName);
    const target = requireScope(registry, targetName);
    const { rows, inBoth } = diffScopes(await compareScopes(tenant, source, target, now), source, target);
    const fingerprint = queryFingerprint(['diff', sourceName, targetName]);
    const start = cursor ? decodeCursor(cursor, fingerprint).skip : 0;
    const page = rows.slice(start, start + limit);
    const next = start + limit < rows.length ? encodeCursor({ skip: start + limit }, fingerprint) : null;
    return { ...splitRows(page), inBoth, cursor: next };
  }

  async merge(address: TenantAddress, sourceName: string, targetName: string, strategy: MergeStrategy): Promise<MergeResult> {
    if (sourceName === targetName) throw new ValidationError('cannot merge a scope into itself', { source: sourceName });
    const tenant = await this.tenant(address, true);
    return tenant.lock.run(async () => {
      const now = this.clock();
      const registry = await tenant.scopes(now);
      const source = requireScope(registry, sourceName);
      const target = requireScope(registry, targetName);
      const plan = planMerge(tenant, await compareScopes(tenant, source, target, now), source, target, strategy, now);
      if (plan.kind === 'conflicts') {
        throw new ConflictError(`merge rejected: ${plan.conflicts.length} conflict(s)`, { conflicts: plan.conflicts, strategy });
      }
      // The source's current state becomes the base of the next merge between the two.
      const frozen = freezeTop(registry, source);
      const updatedTarget = registry.get(targetName) ?? target;
      registry.put({ ...updatedTarget, merges: { ...updatedTarget.merges, [sourceName]: frozen.chain.slice(1) } });
      if (plan.kind === 'merged') registry.adjustCount(target.chain[0] as number, plan.countDelta);
      const details = { source: sourceName, strategy, result: plan.kind, conflicts: plan.conflicts.length };
      await tenant.commit(plan.kind === 'merged' ? plan.ops : [], [scopeEvent('scope_merged', address, targetName, details)], now);
      const merged = plan.kind === 'merged' ? plan.changes : 0;
      return { kind: plan.kind, merged, conflictsResolved: plan.conflicts.length, strategy, conflicts: plan.conflicts };
    }).finally(() => this.flattenLater(tenant));
  }

  async remove(address: TenantAddress, name: string): Promise<{ deleted: boolean; scope: string }> {
    const tenant = await this.tenant(address, false);
    return tenant.lock.run(async () => {
      const registry = await tenant.scopes(this.clock());
      await tenant.commit(await deleteScope(tenant, registry, name), [scopeEvent('scope_deleted', address, name, {})]);
      return { deleted: true, scope: name };
    }).finally(() => this.flattenLater(tenant));
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
