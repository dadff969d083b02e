import type { Budget } from '../../engine/index.js';
import type { ContextDiffBody, OptimizeBody } from '../../contract/context.js';
import type { Atom, CompiledProgram } from '../../engine/index.js';
import type { ScopeView } from '../../store/fact-reader.js';
import type { TenantReads, TenantStore } from '../../store/tenant-store.js';
import type { Catalog } from '../../store/catalog.js';
import type { FactDatabase } from '../../store/fact-database.js';
import type { SessionRecord } from '../../store/session-records.js';
import type { TenantAddress } from '../address.js';
import type { Clock } from '../clock.js';
import { ValidationError } from '../../domain/errors.js';
import { tenantFactSource } from '../fact-source.js';
import { pastMoment } from '../time.js';
import type { RuleService } from '../rules.js';
import { type ScanSpec, baseOf, scanCandidates } from './candidates.js';
import { type WindowDiff, diffWindows } from './diff.js';
import { NO_GOAL_EVIDENCE, compileGoals, gatherGoalEvidence } from './goals.js';
import { catchUp, goalPredicates } from './incremental.js';
import { type SelectionLimits, type WindowEntry, rankEntries, selectEntries } from './selection.js';
import { type ReusableScan, WindowCache } from './window-cache.js';
import { hasRelevanceQuery, relevantFacts } from '../retrieval/retrieval.js';
import { rankWithRelevance } from './relevance-ranking.js';
import { type DimensionsOf, checkEmbeddings } from '../retrieval/dimensions.js';
import { type ContextWindow, assembleWindow, sessionEntries } from './window.js';

export const DEFAULT_SESSION_IDLE_MS = 24 * 60 * 60 * 1000;

export interface ContextServiceOptions {
  /** A session not used for this long is forgotten (treated as unknown, deleted lazily). */
  readonly sessionIdleMs?: number;
  /** The idle time of one tenant's sessions (its settings); `sessionIdleMs` when not given. */
  readonly sessionIdleMsOf?: (database: string, tenant: string) => Promise<number>;
  /** One tenant's evaluation budget for the goals' rule evaluations (its settings); unlimited when not given. */
  readonly budgetOf?: (database: string, tenant: string) => Promise<Budget>;
  /** Internal (tests): the candidate pool's pruning threshold, lowered to prune small tenants. */
  readonly pruneFloor?: number;
  /** Internal (tests): extra beaters kept per group (default: as many as the window needs), so that removals can be caught up. */
  readonly margin?: number;
  /** The database's embeddingDimensions, which a queryEmbedding must match (absent: not checked). */
  readonly dimensionsOf?: DimensionsOf;
}

/** How the windows built so far were obtained (internal: tests and benches read it). */
export interface WindowStats {
  /** Passes over every fact of a view. */
  scans: number;
  /** Cached passes used as they were (nothing written since). */
  reused: number;
  /** Cached passes brought up to date from the writes since. */
  caughtUp: number;
  /** Cached passes that could not absorb the writes since, by reason (a pass followed). */
  readonly fallbacks: Map<string, number>;
}

type WindowRequest = Omit<OptimizeBody, 'sessionId'>;

interface ScanJob {
  readonly key: string;
  readonly tenant: TenantStore;
  /** What the request reads through (one snapshot), and the tenant's write generation at that snapshot. */
  readonly reads: TenantReads;
  readonly generation: number;
  readonly view: ScopeView;
  readonly program: CompiledProgram | null;
  readonly goals: readonly Atom[];
  /** The tenant's evaluation budget, spent by the goals. */
  readonly budget: Budget;
  readonly limits: SelectionLimits;
  readonly request: WindowRequest;
  readonly now: number;
  /** A past window: the facts as they stood then (`now` is that moment). */
  readonly asOf?: number;
}

/** Internal (tests): build a window without the cache and without remembering anything. */
export interface PreviewOptions {
  /** Make a new pass over the facts instead of using (or catching up) a cached one. */
  readonly rescan: boolean;
  /** Build the window of a past moment (transaction time). */
  readonly asOf?: number;
}

const EMPTY_WINDOW = assembleWindow([], { available: 0, rules: [], contradictionsFound: 0, contradictions: [] });

/**
 * Context windows for agents: the most salient facts of a tenant (salience.ts), and per session
 * the window last sent, so `diff` can send only what changed. Reads run freely; what a window
 * writes (access counts, the session) is one batch under the tenant's write lock.
 */
export class ContextService {
  private readonly sessionIdleMs: number;
  private readonly idleMsOf: (database: string, tenant: string) => Promise<number>;
  private readonly budgetOf: (database: string, tenant: string) => Promise<Budget>;
  private readonly pruneFloor: number | undefined;
  private readonly margin: number | undefined;
  private readonly dimensionsOf: DimensionsOf | undefined;
  private readonly cache = new WindowCache();
  readonly stats: WindowStats = { scans: 0, reused: 0, caughtUp: 0, fallbacks: new Map() };

  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
    options: ContextServiceOptions = {},
  ) {
    this.sessionIdleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.idleMsOf = options.sessionIdleMsOf ?? (() => Promise.resolve(this.sessionIdleMs));
    this.budgetOf = options.budgetOf ?? (() => Promise.resolve({}));
    this.pruneFloor = options.pruneFloor;
    this.margin = options.margin;
    this.dimensionsOf = options.dimensionsOf;
  }

  /** A window; remembered as the session's when a sessionId is given. */
  async optimize(address: TenantAddress, body: OptimizeBody): Promise<ContextWindow> {
    const now = this.clock();
    if (body.asOf !== undefined) return this.pastWindow(address, body, pastMoment(body.asOf, now, 'asOf'));
    await using lease = await this.catalog.forRead(address.database);
    const { window, tenant } = await this.build(lease.database, address, body, now);
    if (tenant !== null) await this.remember(tenant, window, body.sessionId ?? null, now, await this.idleMsOf(address.database, address.tenant));
    return window;
  }

  /**
   * The window as it would have been built at a past moment: the facts as they stood then (from
   * the history), judged at that moment. It is read only: no cache, no session, no access counted
   * (the access counts that rank it are today's: their past is not kept). A query is refused: the
   * retrieval indexes hold the present only.
   */
  private async pastWindow(address: TenantAddress, body: OptimizeBody, asOf: number): Promise<ContextWindow> {
    if (body.sessionId) throw new ValidationError('asOf cannot be combined with sessionId: a past window is not sent to a session', { field: 'asOf' });
    if (hasRelevanceQuery(body)) throw new ValidationError('asOf cannot be combined with query or queryEmbedding: the retrieval indexes hold the present only', { field: 'asOf' });
    await using lease = await this.catalog.forRead(address.database);
    return (await this.build(lease.database, address, body, asOf, { rescan: true, asOf })).window;
  }

  /** The window relative to the one the session was last sent; the new window becomes the session's. */
  async diff(address: TenantAddress, body: ContextDiffBody): Promise<WindowDiff> {
    const now = this.clock();
    await using lease = await this.catalog.forRead(address.database);
    const { window, tenant } = await this.build(lease.database, address, body, now);
    const previous = tenant === null ? null : await this.remember(tenant, window, body.sessionId, now, await this.idleMsOf(address.database, address.tenant));
    return diffWindows(previous, window);
  }

  /**
   * Internal (tests): the window `optimize` would give now, without counting access or touching a
   * session; `rescan` makes a new pass over the facts (not cached) instead of using the cache.
   */
  async preview(address: TenantAddress, body: WindowRequest, options: PreviewOptions): Promise<ContextWindow> {
    await using lease = await this.catalog.forRead(address.database);
    return (await this.build(lease.database, address, body, this.clock(), options)).window;
  }

  /** Forget a session; false when there was none (or it had expired). */
  async clearSession(address: TenantAddress, sessionId: string): Promise<boolean> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return false;
    const tenant = database.tenant(address.tenant);
    const idleMs = await this.idleMsOf(address.database, address.tenant);
    return await tenant.transaction(this.clock(), async (tx) => {
      const record = await tx.session(sessionId);
      if (record === null) return false;
      tx.deleteSession(sessionId);
      return this.isLive(record, tx.now, idleMs);
    });
  }

  /**
   * Delete every session idle for longer than the idle time, in every tenant of every open
   * database (a background task: an idle session is otherwise only forgotten when it is touched).
   */
  async sweepSessions(): Promise<number> {
    let swept = 0;
    await this.catalog.eachDatabase(async (database) => {
      for (const name of database.listTenants()) {
        const idleMs = await this.idleMsOf(database.name, name);
        swept += await database.tenant(name).transaction(this.clock(), async (tx) => {
          let idle = 0;
          for await (const [sessionId, record] of tx.sessions()) {
            if (this.isLive(record, tx.now, idleMs)) continue;
            tx.deleteSession(sessionId);
            idle++;
          }
          return idle;
        });
      }
    });
    return swept;
  }

  /** How often the sweep runs: often enough that a session outlives its idle time by at most half of it. */
  get sweepIntervalMs(): number {
    return Math.max(1000, Math.min(this.sessionIdleMs / 2, 3600_000));
  }

  /** A tenant that was never written has no facts and keeps no sessions: its window is empty and nothing is written. */
  private async build(
    database: FactDatabase,
    address: TenantAddress,
    request: WindowRequest,
    now: number,
    preview: PreviewOptions | null = null,
  ): Promise<{ window: ContextWindow; tenant: TenantStore | null }> {
    const goals = compileGoals(request.goals);
    if (request.queryEmbedding && this.dimensionsOf) await checkEmbeddings(this.dimensionsOf, address, [{ field: 'queryEmbedding', vector: request.queryEmbedding }]);
    if (!database.hasTenant(address.tenant)) return { window: EMPTY_WINDOW, tenant: null };
    const tenant = database.tenant(address.tenant);
    const scope = request.scope ?? null;
    const program = goals.length > 0 ? await this.rules.programFor(address, scope) : null;
    const budget = goals.length > 0 ? await this.budgetOf(address.database, address.tenant) : {};
    if (hasRelevanceQuery(request)) await tenant.ensureRetrievalIndex(now);
    return tenant.read(now, async (reads) => {
      const generation = this.cache.generation(tenant); // first, in the tick of the snapshot
      const view = reads.view(scope);
      if (view === null) return { window: EMPTY_WINDOW, tenant };
      const limits = limitsOf(request);
      const key = JSON.stringify([address.database, address.tenant, scope, request.maxFacts, [...request.predicates].sort(), goals, limits]);
      const job: ScanJob = { key, tenant, reads, generation, view, program, goals, budget, limits, request, now, ...(preview?.asOf === undefined ? {} : { asOf: preview.asOf }) };
      return { window: await this.windowOf(job, preview), tenant };
    });
  }

  private async windowOf(job: ScanJob, preview: PreviewOptions | null): Promise<ContextWindow> {
    const { key, view, limits } = job;
    const reused = preview?.rescan === true ? null : await this.reuse(job);
    const { evidence, spec, scan } = reused?.reusable ?? (await this.scan(job, preview === null));
    const fresh = { ...spec, accessCounts: reused?.accessCounts ?? spec.accessCounts };
    const scopeName = view.kind === 'scope' ? view.scope.name : null;
    const ranked = hasRelevanceQuery(job.request)
      ? await this.rankByRelevance(job, scan.pool, evidence, scopeName, fresh)
      : rankEntries(scan.pool, evidence.answers, scopeName, (c) => baseOf(c.payload, c.identity, fresh));
    const entries = selectEntries(ranked, limits);
    // Only what the pool holds counts as selected: a fact a query brought in from outside the pool must be scored again when its access count rises.
    if (preview === null) this.cache.selected(key, storedIdentities(entries).filter((id) => scan.pool.get(id) !== undefined));
    const stats = { ...scan, available: scan.available + evidence.answers.length, rules: evidence.rules };
    return assembleWindow(entries, stats);
  }

  /**
   * A query window: the pool ranked with the facts the query brings in. Those may lie outside the
   * pool, whose access counts are all that were read: theirs are read here, so a cached pass and a
   * new one score them alike.
   */
  private async rankByRelevance(job: ScanJob, pool: ReusableScan['scan']['pool'], evidence: ReusableScan['evidence'], scopeName: string | null, fresh: ScanSpec) {
    const scored = await relevantFacts(job.reads, job.view, job.request, job.now, relevanceDepth(job.limits), true);
    const missing = scored.map((s) => s.identity).filter((id) => !fresh.accessCounts.has(id));
    const counts = missing.length === 0 ? fresh.accessCounts : new Map([...fresh.accessCounts, ...(await job.reads.accessCountsOf(missing))]);
    const spec = { ...fresh, accessCounts: counts };
    return rankWithRelevance(pool, evidence.answers, scopeName, scored, {
      base: (fact, identity) => baseOf(fact, identity, spec),
      isPremise: (identity) => evidence.premises.has(identity),
      focus: spec.focus,
      accessCounts: counts,
    });
  }

  /**
   * The cached pass of this request, caught up with the tenant's writes since it was made (under
   * the tenant's write lock, so that no write lands while the written facts are read); null when
   * there is none or it cannot absorb them (then a new pass follows). The access counts returned
   * are those of the pass's kept candidates, as they are now (a window of this request may have raised them).
   */
  private async reuse(job: ScanJob): Promise<{ reusable: ReusableScan; accessCounts: ReadonlyMap<string, number> } | null> {
    const { key, tenant, now } = job;
    const hit = this.cache.get(key, tenant, job.program, now);
    if (hit === null) return null;
    const { entry } = hit;
    const keptCounts = (reads: TenantReads) => reads.accessCountsOf(entry.reusable.scan.pool.candidates.map((c) => c.identity));
    if (hit.writes.length === 0 && entry.accessed.size === 0) {
      this.stats.reused++;
      return { reusable: entry.reusable, accessCounts: await keptCounts(job.reads) };
    }
    let counts: ReadonlyMap<string, number> = new Map();
    // In a transaction (that writes nothing): no write lands while the written facts are read.
    const reason = await tenant.transaction(now, async (tx) => {
      const writes = this.cache.pending(key, entry);
      if (writes === null) return 'the cached pass was dropped meanwhile';
      if (writes.length === 0 && entry.accessed.size === 0) return null; // another window caught it up meanwhile
      const view = tx.view(job.request.scope ?? null);
      if (view === null) return 'the scope is gone';
      // Counts are read under the lock: a window may have raised some since (and listed them in `accessed`).
      const reason = await catchUp(entry.reusable, writes, {
        accessed: entry.accessed,
        tenant: tx,
        view,
        now,
        accessCountsOf: (identities) => tx.accessCountsOf(identities),
        goalPredicates: job.goals.length > 0 ? goalPredicates(job.program, job.goals) : null,
        evaluateGoals: () => this.evidence({ ...job, reads: tx, view }),
      });
      if (reason === null) {
        entry.generation += writes.length;
        entry.accessed.clear();
        counts = await keptCounts(tx);
      }
      return reason;
    });
    if (reason !== null) {
      this.cache.drop(key, entry);
      const counted = this.stats.fallbacks.has(reason) || this.stats.fallbacks.size < 32 ? reason : 'other';
      this.stats.fallbacks.set(counted, (this.stats.fallbacks.get(counted) ?? 0) + 1);
      return null;
    }
    this.stats.caughtUp++;
    return { reusable: entry.reusable, accessCounts: counts };
  }

  /** Goals, then one streaming pass over the view's facts; remembered (`keep`) for the next window of the same request. */
  private async scan(job: ScanJob, keep: boolean): Promise<ReusableScan> {
    const { tenant, program, limits, now, generation, view } = job;
    const evidence = await this.evidence(job);
    const perGroup = Math.min(limits.maxFactsPerPredicate ?? limits.maxFacts, limits.maxFacts);
    const keepPerGroup = (limits.dropContradictions ? 2 : 1) * perGroup;
    const counts = new Map<string, number>();
    const spec: ScanSpec = {
      evidence,
      focus: new Set(job.request.predicates),
      accessCounts: counts,
      byPredicate: perGroup < limits.maxFacts,
      keep: keepPerGroup,
      margin: this.margin ?? keepPerGroup,
      ...(this.pruneFloor === undefined ? {} : { pruneFloor: this.pruneFloor }),
    };
    const reusable = { evidence, spec, scan: await scanCandidates(job.reads, view, now, spec, counts, job.asOf) };
    this.stats.scans++;
    if (keep) {
      // A write that landed during the pass may or may not be in it: such a pass only serves an unchanged tenant.
      const settled = await tenant.transaction(now, async () => this.cache.generation(tenant));
      this.cache.put(job.key, tenant, generation, settled === generation, program, reusable);
    }
    return reusable;
  }

  private evidence(job: ScanJob) {
    const { reads, view, program, goals, budget, limits, now, asOf } = job;
    const at = asOf === undefined ? now : { now, asOf };
    return goals.length > 0 ? gatherGoalEvidence(program, tenantFactSource(reads, view, at), goals, limits.maxFacts, budget) : Promise.resolve(NO_GOAL_EVIDENCE);
  }

  /** Under the tenant's lock: count the window's facts as accessed and make it the session's; returns the session's live previous window. */
  private remember(tenant: TenantStore, window: ContextWindow, sessionId: string | null, now: number, idleMs: number): Promise<SessionRecord | null> {
    return tenant.transaction(now, async (tx) => {
      const stored = storedIdentities(window.entries);
      await tx.incrementAccess(stored);
      const previous = sessionId === null ? null : await tx.session(sessionId);
      const live = previous !== null && this.isLive(previous, now, idleMs) ? previous : null;
      if (sessionId !== null) {
        const record: SessionRecord = { windowId: window.windowId, createdAt: live?.createdAt ?? now, lastUsedAt: now, entries: sessionEntries(window) };
        tx.putSession(sessionId, record);
      }
      this.cache.accessed(tenant, stored);
      return live;
    });
  }

  private isLive(record: SessionRecord, now: number, idleMs: number): boolean {
    return now - record.lastUsedAt <= idleMs;
  }
}

function storedIdentities(entries: readonly WindowEntry[]): string[] {
  return entries.filter((e) => e.provenance === null).map((e) => e.identity);
}

/** How many of the best facts of each relevance signal a window weighs (below them relevance counts 0). */
function relevanceDepth(limits: SelectionLimits): number {
  return Math.max(200, 4 * limits.maxFacts);
}

function limitsOf(request: WindowRequest): SelectionLimits {
  return { maxFacts: request.maxFacts, maxFactsPerPredicate: request.maxFactsPerPredicate ?? null, dropContradictions: !request.includeContradictions };
}
