import type { ContextDiffBody, OptimizeBody } from '../../contract/context.js';
import type { Atom, CompiledProgram } from '../../engine/index.js';
import type { ScopeView } from '../../store/fact-reader.js';
import type { TenantStore } from '../../store/tenant-store.js';
import type { Catalog } from '../../store/catalog.js';
import { type SessionRecord, delSessionOp, incrementAccessOps, loadAccessCounts, loadSession, putSessionOp } from '../../store/session-records.js';
import type { TenantAddress } from '../address.js';
import type { Clock } from '../clock.js';
import { tenantFactSource } from '../fact-source.js';
import type { RuleService } from '../rules.js';
import { type ScanSpec, baseOf, scanCandidates } from './candidates.js';
import { type WindowDiff, diffWindows } from './diff.js';
import { NO_GOAL_EVIDENCE, compileGoals, gatherGoalEvidence } from './goals.js';
import { type SelectionLimits, type WindowEntry, rankEntries, selectEntries } from './selection.js';
import { type ReusableScan, WindowCache } from './window-cache.js';
import { type ContextWindow, assembleWindow, sessionEntries } from './window.js';

export const DEFAULT_SESSION_IDLE_MS = 24 * 60 * 60 * 1000;

export interface ContextServiceOptions {
  /** A session not used for this long is forgotten (treated as unknown, deleted lazily). */
  readonly sessionIdleMs?: number;
}

type WindowRequest = Omit<OptimizeBody, 'sessionId'>;

interface ScanJob {
  readonly key: string;
  readonly tenant: TenantStore;
  readonly view: ScopeView;
  readonly program: CompiledProgram | null;
  readonly goals: readonly Atom[];
  readonly limits: SelectionLimits;
  readonly request: WindowRequest;
  readonly accessCounts: ReadonlyMap<string, number>;
  readonly now: number;
}

const EMPTY_WINDOW = assembleWindow([], { available: 0, rules: [], contradictionsFound: 0, contradictions: [] });

/**
 * Context windows for agents: the most salient facts of a tenant (salience.ts), and per session
 * the window last sent, so `diff` can send only what changed. Reads run freely; what a window
 * writes (access counts, the session) is one batch under the tenant's write lock.
 */
export class ContextService {
  private readonly sessionIdleMs: number;
  private readonly cache = new WindowCache();

  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
    options: ContextServiceOptions = {},
  ) {
    this.sessionIdleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  }

  /** A window; remembered as the session's when a sessionId is given. */
  async optimize(address: TenantAddress, body: OptimizeBody): Promise<ContextWindow> {
    const now = this.clock();
    const { window, tenant } = await this.build(address, body, now);
    if (tenant !== null) await this.remember(tenant, window, body.sessionId ?? null, now);
    return window;
  }

  /** The window relative to the one the session was last sent; the new window becomes the session's. */
  async diff(address: TenantAddress, body: ContextDiffBody): Promise<WindowDiff> {
    const now = this.clock();
    const { window, tenant } = await this.build(address, body, now);
    const previous = tenant === null ? null : await this.remember(tenant, window, body.sessionId, now);
    return diffWindows(previous, window);
  }

  /** Forget a session; false when there was none (or it had expired). */
  async clearSession(address: TenantAddress, sessionId: string): Promise<boolean> {
    const database = await this.catalog.forRead(address.database);
    if (!database.hasTenant(address.tenant)) return false;
    const tenant = database.tenant(address.tenant);
    return tenant.lock.run(async () => {
      const record = await loadSession(tenant.sub, sessionId);
      if (record === null) return false;
      await tenant.commit([delSessionOp(tenant.sub, sessionId)]);
      return this.isLive(record, this.clock());
    });
  }

  /** A tenant that was never written has no facts and keeps no sessions: its window is empty and nothing is written. */
  private async build(address: TenantAddress, request: WindowRequest, now: number): Promise<{ window: ContextWindow; tenant: TenantStore | null }> {
    const goals = compileGoals(request.goals);
    const database = await this.catalog.forRead(address.database);
    if (!database.hasTenant(address.tenant)) return { window: EMPTY_WINDOW, tenant: null };
    const tenant = database.tenant(address.tenant);
    const scope = request.scope ?? null;
    const view = await tenant.view(scope, now);
    if (view === null) return { window: EMPTY_WINDOW, tenant };
    const limits = limitsOf(request);
    const program = goals.length > 0 ? await this.rules.programFor(address, scope) : null;
    const accessCounts = await loadAccessCounts(tenant.sub);
    const key = JSON.stringify([address.database, address.tenant, scope, request.maxFacts, [...request.predicates].sort(), goals, limits]);
    const { evidence, spec, scan } =
      this.cache.get(key, tenant, program, now) ?? (await this.scan({ key, tenant, view, program, goals, limits, request, accessCounts, now }));
    const fresh = { ...spec, accessCounts };
    const ranked = rankEntries(scan.pool, evidence.answers, view.kind === 'scope' ? view.scope.name : null, (c) => baseOf(c.payload, c.identity, fresh));
    const entries = selectEntries(ranked, limits);
    this.cache.selected(key, storedIdentities(entries));
    const stats = { ...scan, available: scan.available + evidence.answers.length, rules: evidence.rules };
    return { window: assembleWindow(entries, stats), tenant };
  }

  /** Goals, then one streaming pass over the view's facts; remembered for the next window of the same request. */
  private async scan(job: ScanJob): Promise<ReusableScan> {
    const { tenant, view, program, goals, limits, now } = job;
    const generation = this.cache.generation(tenant);
    const evidence = goals.length > 0 ? await gatherGoalEvidence(program, tenantFactSource(tenant, view, now), goals, limits.maxFacts) : NO_GOAL_EVIDENCE;
    const perGroup = Math.min(limits.maxFactsPerPredicate ?? limits.maxFacts, limits.maxFacts);
    const spec: ScanSpec = {
      evidence,
      focus: new Set(job.request.predicates),
      accessCounts: job.accessCounts,
      byPredicate: perGroup < limits.maxFacts,
      keep: (limits.dropContradictions ? 2 : 1) * perGroup,
    };
    const reusable = { evidence, spec, scan: await scanCandidates(tenant.sub, view, now, spec) };
    this.cache.put(job.key, tenant, generation, program, reusable);
    return reusable;
  }

  /** Under the tenant's lock: count the window's facts as accessed and make it the session's; returns the session's live previous window. */
  private remember(tenant: TenantStore, window: ContextWindow, sessionId: string | null, now: number): Promise<SessionRecord | null> {
    return tenant.lock.run(async () => {
      const stored = storedIdentities(window.entries);
      const ops = await incrementAccessOps(tenant.sub, stored);
      const previous = sessionId === null ? null : await loadSession(tenant.sub, sessionId);
      const live = previous !== null && this.isLive(previous, now) ? previous : null;
      if (sessionId !== null) {
        const record: SessionRecord = { windowId: window.windowId, createdAt: live?.createdAt ?? now, lastUsedAt: now, entries: sessionEntries(window) };
        ops.push(putSessionOp(tenant.sub, sessionId, record));
      }
      if (ops.length > 0) await tenant.commit(ops);
      this.cache.accessed(tenant, stored);
      return live;
    });
  }

  private isLive(record: SessionRecord, now: number): boolean {
    return now - record.lastUsedAt <= this.sessionIdleMs;
  }
}

function storedIdentities(entries: readonly WindowEntry[]): string[] {
  return entries.filter((e) => e.provenance === null).map((e) => e.identity);
}

function limitsOf(request: WindowRequest): SelectionLimits {
  return { maxFacts: request.maxFacts, maxFactsPerPredicate: request.maxFactsPerPredicate ?? null, dropContradictions: !request.includeContradictions };
}
