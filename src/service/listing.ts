import type { StoredFact } from '../domain/fact.js';
import { parseRule } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { readOptions } from './fact-source.js';
import { readMoment } from './time.js';
import type { RuleService } from './rules.js';
import type { ReadLens } from './query.js';

export interface FactFilter {
  readonly predicate?: string | undefined;
  readonly scope?: string | undefined;
  readonly negated?: boolean | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
  readonly asOf?: number | string | undefined;
  readonly validAt?: number | string | undefined;
}

export interface FactPage {
  readonly facts: StoredFact[];
  readonly cursor: string | null;
}

export interface PredicateCount {
  readonly name: string;
  readonly arities: number[];
  readonly facts: number;
  readonly rules: number;
}

/**
 * Listings for clients that do not know what to ask yet: the stored facts (`GET /facts`) and the
 * vocabulary (`GET /predicates`). Both read the tenant's primary index entries in index order, and
 * pages resume with the same cursor as `ask` (index position + how many of it were sent).
 */
export class ListingService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
  ) {}

  /** `lens`: the reads of a transaction (its own writes laid over the snapshot). */
  async facts(address: TenantAddress, filter: FactFilter, lens?: ReadLens): Promise<FactPage> {
    const times = filter.asOf === undefined && filter.validAt === undefined ? [] : [filter.asOf ?? null, filter.validAt ?? null];
    const fingerprint = queryFingerprint(['facts', filter.predicate ?? null, filter.scope ?? null, filter.negated ?? null, ...times]);
    const start = filter.cursor ? decodeCursor(filter.cursor, fingerprint) : { skip: 0 };
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant) && !lens?.hasWrites) return { facts: [], cursor: null };
    const now = this.clock();
    const options = readOptions(readMoment(filter, now));
    return await database.tenant(address.tenant).read(now, async (tenantReader): Promise<FactPage> => {
      const reader = lens ? lens.wrap(tenantReader) : tenantReader;
      const view = reader.view(filter.scope ?? null);
      if (view === null) return { facts: [], cursor: null };
      const facts: StoredFact[] = [];
      let group: string | null = null;
      let inGroup = 0;
      for await (const match of reader.allFacts(view, options)) {
        if (start.group !== undefined && match.group < start.group) continue;
        const { fact } = match;
        if (filter.predicate !== undefined && fact.predicate !== filter.predicate) continue;
        if (filter.negated !== undefined && fact.negated !== filter.negated) continue;
        inGroup = match.group === group ? inGroup + 1 : 0;
        group = match.group;
        if (group === start.group && inGroup < start.skip) continue;
        if (facts.length === filter.limit) return { facts, cursor: encodeCursor({ group, skip: inGroup }, fingerprint) };
        facts.push(fact);
      }
      return { facts, cursor: null };
    });
  }

  /** Every predicate of the stored facts and of the rule heads, for one scope or (null) all of them. */
  async predicates(address: TenantAddress, scope: string | null): Promise<PredicateCount[]> {
    const found = new Map<string, { arities: Set<number>; facts: number; rules: number }>();
    const entry = (name: string) => {
      let e = found.get(name);
      if (!e) found.set(name, (e = { arities: new Set(), facts: 0, rules: 0 }));
      return e;
    };
    {
      await using lease = await this.catalog.forRead(address.database);
      const database = lease.database;
      if (database.hasTenant(address.tenant)) {
        const now = this.clock();
        await database.tenant(address.tenant).read(now, async (reader) => {
          const view = reader.view(scope);
          if (view === null) return;
          for await (const { fact } of reader.allFacts(view, { now })) {
            const e = entry(fact.predicate);
            e.arities.add(fact.args.length);
            e.facts++;
          }
        });
      }
    }
    for (const rule of await this.rules.list(address)) {
      if (scope !== null && rule.scope !== null && rule.scope !== scope) continue;
      const { head } = parseRule(rule.rule);
      const e = entry(head.predicate);
      e.arities.add(head.args.length);
      e.rules++;
    }
    return [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, e]) => ({ name, arities: [...e.arities].sort((a, b) => a - b), facts: e.facts, rules: e.rules }));
  }
}
