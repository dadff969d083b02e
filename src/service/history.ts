import type { HistoryQuery } from '../contract/history.js';
import { ValidationError } from '../domain/errors.js';
import { MAIN_SCOPE, type Term } from '../domain/fact.js';
import type { Catalog } from '../store/catalog.js';
import type { FactVersion } from '../store/history-reader.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { parseFactArgs } from './terms.js';

export interface VersionView {
  readonly predicate: string;
  readonly args: readonly Term[];
  readonly negated: boolean;
  readonly scope: string;
  readonly version: number;
  readonly op: 'told' | 'updated' | 'retracted';
  readonly time: number;
  readonly actor: string | null;
  readonly confidence: number | null;
  readonly metadata: Record<string, unknown> | null;
  readonly ttl: number | null;
  readonly validFrom: number | null;
  readonly validUntil: number | null;
}

/** A version's place in the listing, newest first: time, then the nearer layer, then the log's own order. */
type Position = readonly [time: number, depth: number, key: string];

function before(a: Position, b: Position): boolean {
  if (a[0] !== b[0]) return a[0] > b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

/**
 * Transaction time: every version a scope's history logged of a predicate's facts (or of one
 * fact), newest first, keyset-paged; and the retention of that history (the pruner).
 */
export class HistoryService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
  ) {}

  /**
   * The versions are read whole for the predicate (one range per layer of the scope's chain) and
   * sorted by time: the log is ordered by fact, not by time. A page is cheap for one fact; for a
   * predicate it costs the predicate's history.
   */
  async list(address: TenantAddress, query: HistoryQuery): Promise<{ versions: VersionView[]; cursor: string | null }> {
    const args = query.args === undefined ? null : argsOf(query.args);
    const scopeName = query.scope ?? MAIN_SCOPE;
    const fingerprint = queryFingerprint(['history', query.predicate, args, scopeName]);
    const start = query.cursor ? positionOf(decodeCursor(query.cursor, fingerprint).after) : null;
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return { versions: [], cursor: null };
    const now = this.clock();
    const found = await database.tenant(address.tenant).read(now, async (reader) => {
      const scope = reader.registry.get(scopeName);
      if (scope === undefined) return [];
      const all: FactVersion[] = [];
      for await (const version of reader.history(scope, query.predicate, args)) {
        if (args !== null && version.args.length !== args.length) continue;
        if (start === null || before(start, [version.time, version.depth, version.key])) all.push(version);
      }
      return all;
    });
    found.sort((a, b) => (before([a.time, a.depth, a.key], [b.time, b.depth, b.key]) ? -1 : 1));
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    const cursor = found.length > query.limit && last ? encodeCursor({ skip: 0, after: [String(last.time), String(last.depth), last.key] }, fingerprint) : null;
    return { versions: page.map((v) => present(v, scopeName)), cursor };
  }

  /** Drop the history older than each tenant's retention (0 = kept forever), in every open database. */
  async prune(retentionMsOf: (database: string, tenant: string) => Promise<number>): Promise<{ versions: number; tombstones: number }> {
    const now = this.clock();
    let versions = 0;
    let tombstones = 0;
    await this.catalog.eachDatabase(async (database) => {
      for (const name of database.listTenants()) {
        const retentionMs = await retentionMsOf(database.name, name);
        if (retentionMs === 0) continue;
        const result = await database.tenant(name).transaction(now, (tx) => tx.pruneHistory(now - retentionMs));
        versions += result.versions;
        tombstones += result.tombstones;
      }
    });
    return { versions, tombstones };
  }
}

function argsOf(raw: string | readonly Term[]): Term[] {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ValidationError('args must be a JSON array of terms', { field: 'args' });
    }
  }
  if (!Array.isArray(value)) throw new ValidationError('args must be a JSON array of terms', { field: 'args' });
  return parseFactArgs(value as Term[], 'args');
}

function positionOf(after: readonly string[] | undefined): Position | null {
  if (after === undefined || after.length !== 3) throw new ValidationError('invalid cursor', { field: 'cursor' });
  const time = Number(after[0]);
  const depth = Number(after[1]);
  if (!Number.isFinite(time) || !Number.isInteger(depth)) throw new ValidationError('invalid cursor', { field: 'cursor' });
  return [time, depth, after[2] as string];
}

function present(v: FactVersion, scope: string): VersionView {
  const r = v.record;
  const op = r === null ? 'retracted' : r.version === 1 ? 'told' : 'updated';
  return {
    predicate: v.predicate,
    args: v.args,
    negated: v.negated,
    scope,
    version: v.version,
    op,
    time: v.time,
    actor: v.actor,
    confidence: r?.confidence ?? null,
    metadata: r?.metadata ?? null,
    ttl: r?.ttl ?? null,
    validFrom: r?.validFrom ?? null,
    validUntil: r?.validUntil ?? null,
  };
}
