import { FactNotFoundError, QuotaExceededError } from '../domain/errors.js';
import { type FactInput, MAIN_SCOPE, type StoredFact } from '../domain/fact.js';
import type { FactBody, PatchBody, RetractBody, TellBody } from '../contract/facts.js';
import type { TenantStore, TenantTransaction } from '../store/tenant-store.js';
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

  /** The facts of a tell as the store takes them, their embeddings checked against the database's dimensions. */
  async prepare(address: TenantAddress, body: TellBody): Promise<FactInput[]> {
    const batch = 'facts' in body ? body.facts : [body];
    const vectors = batch.flatMap((f, i) => (f.embedding ? [{ field: 'facts' in body ? `facts.${i}.embedding` : 'embedding', vector: f.embedding }] : []));
    await checkEmbeddings(this.dimensionsOf, address, vectors);
    const defaultScope = 'facts' in body ? (body.scope ?? null) : null;
    return batch.map((fact, i) => toFactInput(fact, defaultScope, 'facts' in body ? `facts.${i}` : 'fact'));
  }

  async tell(address: TenantAddress, body: TellBody): Promise<StoredFact[]> {
    const inputs = await this.prepare(address, body);
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

  /** PATCH /tell: change metadata, confidence, ttl or validity of a stored fact (a new version, as any upsert); FACT_NOT_FOUND if absent. */
  async patch(address: TenantAddress, body: PatchBody): Promise<StoredFact> {
    const scope = body.scope ?? MAIN_SCOPE;
    const missing = () => new FactNotFoundError({ predicate: body.predicate, args: body.args, negated: body.negated, scope });
    if (!(await this.catalog.existsNow(address.database))) throw missing();
    await using lease = await this.catalog.forWrite(address.database);
    if (!lease.database.hasTenant(address.tenant)) throw missing();
    const tenant = lease.database.tenant(address.tenant);
    return await tenant.transaction(this.clock(), (tx) => patched(tenant, tx, body, address.actor ?? null));
  }

  async retract(address: TenantAddress, body: RetractBody): Promise<number> {
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return 0;
    return await database.tenant(address.tenant).retract(body.scope ?? null, compiled.pattern, this.clock(), compiled.accepts, address.actor ?? null);
  }
}

/** A change to one stored fact through the upsert path: the fields not given are kept, the embedding too. */
async function patched(tenant: TenantStore, tx: TenantTransaction, body: PatchBody, actor: string | null): Promise<StoredFact> {
  const key = { predicate: body.predicate, args: parseFactArgs(body.args, 'fact'), negated: body.negated, scope: body.scope ?? MAIN_SCOPE };
  const view = tx.view(key.scope);
  let current: StoredFact | null = null;
  if (view !== null) {
    for await (const { fact } of tx.match(view, key, { now: tx.now, includeInvisible: true })) {
      // Outside its validity window it still exists (its validity is what may change); expired by its ttl, it is gone.
      if (fact.scope === key.scope && !(fact.expiresAt !== null && fact.expiresAt <= tx.now)) current = fact;
    }
  }
  if (current === null) throw new FactNotFoundError(key);
  const input: FactInput = {
    ...key,
    confidence: body.confidence ?? current.confidence,
    ttl: body.ttl === undefined ? current.ttl : body.ttl,
    validFrom: body.validFrom === undefined ? current.validFrom : body.validFrom,
    validUntil: body.validUntil === undefined ? current.validUntil : body.validUntil,
    metadata: body.metadata === undefined ? current.metadata : body.metadata,
  };
  const [stored] = await tenant.tellWithin(tx, [input], actor, new Map());
  return stored as StoredFact;
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
