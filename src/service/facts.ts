import { QuotaExceededError } from '../domain/errors.js';
import { type FactInput, MAIN_SCOPE, type StoredFact } from '../domain/fact.js';
import type { FactBody, RetractBody, TellBody } from '../contract/facts.js';
import type { Catalog } from '../store/catalog.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { compilePattern } from './pattern.js';
import { parseFactArgs } from './terms.js';
import { type DimensionsOf, checkEmbeddings } from './retrieval/dimensions.js';

/** Writes: tell (upsert, all or nothing) and retract (a fact or a pattern). */
export class FactService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly dimensionsOf: DimensionsOf,
    /** The tenant's quotas (its settings). */
    private readonly settingsOf: (address: TenantAddress) => Promise<{ readonly maxFacts: number; readonly maxBytes: number }> = () => Promise.resolve({ maxFacts: 0, maxBytes: 0 }),
    /** A refused write over a quota (a lifecycle hook). */
    private readonly quotaExceeded: (address: TenantAddress, details: Record<string, unknown>) => Promise<void> = () => Promise.resolve(),
  ) {}

  async tell(address: TenantAddress, body: TellBody): Promise<StoredFact[]> {
    const batch = 'facts' in body ? body.facts : [body];
    const vectors = batch.flatMap((f, i) => (f.embedding ? [{ field: 'facts' in body ? `facts.${i}.embedding` : 'embedding', vector: f.embedding }] : []));
    await checkEmbeddings(this.dimensionsOf, address, vectors);
    const defaultScope = 'facts' in body ? (body.scope ?? null) : null;
    const inputs = batch.map((fact, i) => toFactInput(fact, defaultScope, 'facts' in body ? `facts.${i}` : 'fact'));
    await using lease = await this.catalog.forWrite(address.database);
    const database = lease.database;
    const { maxFacts, maxBytes } = await this.settingsOf(address);
    try {
      return await database.tenant(address.tenant).tell(inputs, this.clock(), address.actor ?? null, { maxFacts, maxBytes });
    } catch (error) {
      // The refusal stands whatever becomes of its notification.
      if (error instanceof QuotaExceededError) await this.quotaExceeded(address, error.details ?? {}).catch(() => undefined);
      throw error;
    }
  }

  async retract(address: TenantAddress, body: RetractBody): Promise<number> {
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return 0;
    return await database.tenant(address.tenant).retract(body.scope ?? null, compiled.pattern, this.clock(), compiled.accepts, address.actor ?? null);
  }
}

function toFactInput(fact: FactBody, defaultScope: string | null, path: string): FactInput {
  return {
    predicate: fact.predicate,
    args: parseFactArgs(fact.args, path),
    negated: fact.negated,
    scope: fact.scope ?? defaultScope ?? MAIN_SCOPE,
    confidence: fact.confidence,
    ttl: fact.ttl ?? null,
    validFrom: fact.validFrom ?? null,
    validUntil: fact.validUntil ?? null,
    metadata: fact.metadata ?? null,
    ...(fact.embedding === undefined ? {} : { embedding: fact.embedding === null ? null : Float32Array.from(fact.embedding) }),
  };
}
