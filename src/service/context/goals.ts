import type { AtomBody } from '../../contract/query.js';
import { type FactKey, type StoredFact, type Term, factKeyId } from '../../domain/fact.js';
import {
  type Atom,
  type Budget,
  type CompiledProgram,
  type FactSource,
  type Premise,
  type Proof,
  compileProgram,
  constant,
  evaluateQuery,
  formatLiteral,
  validateQuery,
  variable,
} from '../../engine/index.js';
import { parsePatternArg } from '../terms.js';

/** How a derived entry was obtained: the rule applied and its direct premises, as text. */
export interface Provenance {
  readonly rule: string;
  readonly premises: readonly string[];
}

/** A goal answer the rules derived (not stored): it can enter the window with its provenance. */
export interface DerivedAnswer extends FactKey {
  readonly identity: string;
  /** The weakest confidence among the stored facts its proof rests on (1 when none). */
  readonly confidence: number;
  readonly provenance: Provenance;
}

/** What the goals say about relevance, gathered before the facts are scanned. */
export interface GoalEvidence {
  /** Identities of stored facts that answer a goal or that a proof of an answer uses. */
  readonly premises: ReadonlySet<string>;
  /** Constants of the goals and of their answers, as JSON (30 and "30" stay apart). */
  readonly constants: ReadonlySet<string>;
  readonly answers: readonly DerivedAnswer[];
  /** Texts of the rules the proofs apply, in order of first use. */
  readonly rules: readonly string[];
}

export const NO_GOAL_EVIDENCE: GoalEvidence = { premises: new Set(), constants: new Set(), answers: [], rules: [] };

const EMPTY_PROGRAM = compileProgram([]);

/** Goals as engine atoms, checked at the door (a bad variable name is a 400 even for an empty tenant). */
export function compileGoals(goals: readonly AtomBody[]): Atom[] {
  return goals.map((goal, index) => {
    const atom = goalAtom(goal, index);
    validateQuery({ literals: [atom] });
    return atom;
  });
}

/** Evaluate each goal with proofs (at most `limit` answers each) and collect what their answers rest on. */
export async function gatherGoalEvidence(
  program: CompiledProgram | null,
  source: FactSource,
  goals: readonly Atom[],
  limit: number,
  /** The request's evaluation budget, shared by its goals (a goal over a huge derived relation stops with 422, not a stall). */
  budget: Budget = {},
): Promise<GoalEvidence> {
  const premises = new Set<string>();
  const constants = new Set<string>();
  const rules = new Set<string>();
  const answers = new Map<string, DerivedAnswer>();
  for (const atom of goals) {
    for (const arg of atom.args) if (arg.kind === 'const') constants.add(JSON.stringify(arg.value));
    const found = await evaluateQuery(program ?? EMPTY_PROGRAM, source, { literals: [atom] }, { withProof: true, limit, budget });
    for (const answer of found) {
      const match = answer.matches[0];
      if (match === undefined) continue;
      for (const arg of match.args) constants.add(JSON.stringify(arg));
      if (!match.derived) premises.add(factKeyId(match.ref as StoredFact));
      else if (match.proof) {
        const confidence = walkProof(match.proof, premises, rules);
        const key = { predicate: match.predicate, args: match.args, negated: match.negated };
        const identity = factKeyId(key);
        if (!answers.has(identity)) answers.set(identity, { ...key, identity, confidence, provenance: provenanceOf(match.proof) });
      }
    }
  }
  return { premises, constants, answers: [...answers.values()], rules: [...rules] };
}

/** "?x" variables, "?" anonymous (a fresh name per position), everything else a constant. */
function goalAtom(goal: AtomBody, index: number): Atom {
  const args = goal.args.map((raw, position) => {
    const arg = parsePatternArg(raw);
    if (arg.kind === 'const') return constant(arg.value);
    return variable(arg.name === '' ? `_goal${index}_${position}` : arg.name);
  });
  return { kind: 'atom', predicate: goal.predicate, args, negated: goal.negated };
}

/**
 * Every node of a proof tree (iteratively: derivation chains can be thousands deep; shared
 * subproofs once): records its rules and stored premises, returns the weakest stored confidence.
 */
function walkProof(root: Proof, premises: Set<string>, rules: Set<string>): number {
  let weakest = 1;
  const seen = new Set<Proof>();
  const pending: Proof[] = [root];
  for (let proof = pending.pop(); proof !== undefined; proof = pending.pop()) {
    if (seen.has(proof)) continue;
    seen.add(proof);
    rules.add(proof.rule);
    for (const premise of proof.premises) {
      if (premise.kind === 'derived') pending.push(premise.proof);
      if (premise.kind !== 'stored') continue;
      const stored = premise.ref as StoredFact | undefined;
      premises.add(factKeyId(premise));
      if (stored) weakest = Math.min(weakest, stored.confidence);
    }
  }
  return weakest;
}

function provenanceOf(proof: Proof): Provenance {
  return { rule: proof.rule, premises: proof.premises.map(premiseText) };
}

function atomText(predicate: string, args: readonly Term[], negated: boolean): string {
  return formatLiteral({ kind: 'atom', predicate, args: args.map(constant), negated });
}

/** A premise as the rules would write it: `plan(acme, enterprise)`, `not churned(acme)`, `120 >= 100`. */
function premiseText(premise: Premise): string {
  switch (premise.kind) {
    case 'stored':
      return atomText(premise.predicate, premise.args, premise.negated);
    case 'derived':
      return atomText(premise.proof.fact.predicate, premise.proof.fact.args, false);
    case 'not':
      return `not ${atomText(premise.predicate, premise.args, premise.negated)}`;
    case 'compare':
      return premise.text;
  }
}
