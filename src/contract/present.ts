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


/** Proof trees share sub-proofs; written out as JSON they are trees, so their size is capped. */
export const MAX_PROOF_NODES = 5_000;

/**
 * A proof for clients: the engine's tree with each stored premise's handle replaced by its scope
 * and confidence. Past MAX_PROOF_NODES nodes, derived premises are cut to their fact with `truncated: true`.
 */
export function presentProof(proof: Proof, budget = { left: MAX_PROOF_NODES }): Record<string, unknown> {
  budget.left--;
  return {
    rule: proof.rule,
    ruleId: proof.ruleId,
    fact: proof.fact,
    substitution: proof.substitution,
    premises: proof.premises.map((premise) => {
      if (premise.kind === 'derived') {
        if (budget.left <= 0) return { kind: 'derived', fact: premise.proof.fact, truncated: true };
        return { kind: 'derived', proof: presentProof(premise.proof, budget) };
      }
      if (premise.kind !== 'stored') return premise;
      const stored = premise.ref as StoredFact | undefined;
      return { kind: 'stored', predicate: premise.predicate, args: premise.args, negated: premise.negated, scope: stored?.scope ?? null, confidence: stored?.confidence ?? null };
    }),
  };
}
