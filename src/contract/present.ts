import type { StoredFact, Term } from '../domain/fact.js';

/** The JSON of a stored fact, field names as in the API reference, every field always present. */
export function presentFact(fact: StoredFact, context: string) {
  return {
    predicate: fact.predicate,
    args: fact.args,
    negated: fact.negated,
    scope: fact.scope,
    version: fact.version,
    confidence: fact.confidence,
    createdAt: fact.createdAt,
    updatedAt: fact.updatedAt,
    ttl: fact.ttl,
    expiresAt: fact.expiresAt,
    validFrom: fact.validFrom,
    validUntil: fact.validUntil,
    metadata: fact.metadata,
    $context: context,
  };
}

export function presentAnswer(fact: StoredFact, bindings: Record<string, Term>, context: string) {
  return { ...presentFact(fact, context), bindings };
}
