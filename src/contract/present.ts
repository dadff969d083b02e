import type { StoredFact } from '../domain/fact.js';
import type { Proof } from '../engine/index.js';

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


/** A proof for clients: the engine's tree with each stored premise's handle replaced by its scope and confidence. */
export function presentProof(proof: Proof): unknown {
  return {
    rule: proof.rule,
    ruleId: proof.ruleId,
    fact: proof.fact,
    substitution: proof.substitution,
    premises: proof.premises.map((premise) => {
      if (premise.kind === 'derived') return { kind: 'derived', proof: presentProof(premise.proof) };
      if (premise.kind !== 'stored') return premise;
      const stored = premise.ref as StoredFact | undefined;
      return { kind: 'stored', predicate: premise.predicate, args: premise.args, negated: premise.negated, scope: stored?.scope ?? null, confidence: stored?.confidence ?? null };
    }),
  };
}
