import type { AskBody } from '../contract/query.js';
import type { StoredFact, Term } from '../domain/fact.js';
import type { Catalog } from '../store/catalog.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { compilePattern } from './pattern.js';

/** One answer of a single-pattern ask: the matching fact and the variables it binds. */
export interface FactAnswer {
  readonly fact: StoredFact;
  readonly bindings: Record<string, Term>;
}

export interface AskResult<A> {
  readonly results: A[];
  readonly cursor: string | null;
}

/**
 * Reads. A single pattern over stored facts is one range scan, paged by index position; a
 * conjunctive query or a pattern over derived predicates goes through the rules engine.
 */
export class QueryService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
  ) {}

  async askPattern(address: TenantAddress, body: Extract<AskBody, { predicate: string }>): Promise<AskResult<FactAnswer>> {
    const database = await this.catalog.forRead(address.database);
    if (!database.hasTenant(address.tenant)) return { results: [], cursor: null };
    const tenant = database.tenant(address.tenant);
    const now = this.clock();
    const view = await tenant.view(body.scope ?? null, now);
    if (view === null) return { results: [], cursor: null };
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    const fingerprint = queryFingerprint(['pattern', body.predicate, body.args, body.negated, body.scope ?? null, body.distinct]);
    const start = body.cursor ? decodeCursor(body.cursor, fingerprint) : { skip: 0 };
    const results: FactAnswer[] = [];
    let group: string | null = null;
    let inGroup = 0;
    const options = start.group === undefined ? { now } : { now, fromGroup: start.group };
    for await (const match of tenant.match(view, compiled.pattern, options)) {
      if (!compiled.accepts(match.fact.args)) continue;
      inGroup = match.group === group ? inGroup + 1 : 0;
      group = match.group;
      if (body.distinct && inGroup > 0) continue;
      if (group === start.group && inGroup < start.skip) continue;
      if (results.length === body.limit) return { results, cursor: encodeCursor({ group, skip: inGroup }, fingerprint) };
      results.push({ fact: match.fact, bindings: compiled.bindings(match.fact.args) });
    }
    return { results, cursor: null };
  }
}
