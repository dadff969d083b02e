/**
 * Proof trees, told in terms of the user's rules (never of the magic / goal rewriting).
 *
 * Each derived tuple keeps its first derivation: an instance rule and its row (variable values,
 * then one premise per body literal). Premises were visible before that derivation's round, so
 * following them always ends at stored facts: proofs are finite. Trees are built bottom-up with
 * an explicit stack (derivation chains can be thousands deep) and shared subproofs are the same
 * object.
 *
 * A linear-mode answer for root r was found at some goal c reached from r through tail calls;
 * its proof is the exit rule's proof at c, wrapped once per tail call back up to r.
 */
import type { Term } from '../domain/fact.js';
import { formatValue } from './ast.js';
import type { ILiteral, IRule } from './irule.js';
import type { Row } from './steps.js';
import { instantiate } from './steps.js';
import type { Rec } from './table.js';

export interface Proof {
  /** Canonical text of the rule applied. */
  readonly rule: string;
  readonly ruleId: string | null;
  readonly fact: { readonly predicate: string; readonly args: readonly Term[] };
  readonly substitution: Readonly<Record<string, Term>>;
  readonly premises: readonly Premise[];
}

export type Premise =
  | { readonly kind: 'stored'; readonly predicate: string; readonly args: readonly Term[]; readonly negated: boolean; readonly ref?: unknown }
  | { readonly kind: 'derived'; readonly proof: Proof }
  | { readonly kind: 'not'; readonly predicate: string; readonly args: readonly Term[]; readonly negated: boolean }
  | { readonly kind: 'compare'; readonly text: string };

interface Recorded {
  readonly rule: IRule;
  readonly row: Row;
}

function recorded(rec: Rec): Recorded {
  const origin = rec.origin;
  if (origin === null || origin.rule === null || origin.row === null) throw new TypeError('derivation was not recorded');
  return { rule: origin.rule, row: origin.row as Row };
}

/** A goal record's parent step, or null at a root (seeds are not recorded). */
function goalStep(goal: Rec): Recorded | null {
  const origin = goal.origin;
  return origin === null || origin.rule === null || origin.row === null ? null : { rule: origin.rule, row: origin.row as Row };
}

/** The goal a linear-mode row starts from: always body literal 0. */
const goalOf = (step: Recorded): Rec => step.row[step.rule.slots] as Rec;

export class ProofBuilder {
  private readonly memo = new Map<Rec, Proof>();

  proofOf(root: Rec): Proof {
    const stack: Rec[] = [root];
    while (stack.length > 0) {
      const rec = stack[stack.length - 1]!;
      if (this.memo.has(rec)) {
        stack.pop();
        continue;
      }
      const pending = this.dependencies(rec).filter((dependency) => !this.memo.has(dependency));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      this.memo.set(rec, this.assemble(rec));
      stack.pop();
    }
    return this.memo.get(root)!;
  }

  /** The steps whose premises a proof of `rec` shows: its own, then each goal step up to the root. */
  private steps(rec: Rec): Recorded[] {
    const own = recorded(rec);
    const steps = [own];
    if (own.rule.linear === null) return steps;
    for (let step = goalStep(goalOf(own)); step !== null; step = goalStep(goalOf(step))) steps.push(step);
    return steps;
  }

  private dependencies(rec: Rec): Rec[] {
    const found: Rec[] = [];
    for (const { rule, row } of this.steps(rec)) {
      rule.body.forEach((literal, i) => {
        if (literal.kind !== 'atom' || literal.origin < 0) return;
        const premise = row[rule.slots + i] as Rec;
        if (premise.origin !== null) found.push(premise);
      });
    }
    return found;
  }

  private assemble(rec: Rec): Proof {
    const [own, ...goals] = this.steps(rec);
    const { rule, row } = own!;
    if (rule.kind === 'rule') return this.ruleProof(rule, row, null);
    let premise: Premise =
      rule.kind === 'linear-exit' ? { kind: 'derived', proof: this.ruleProof(rule, row, null) } : this.premise(rule.body[1]!, row[rule.slots + 1], row);
    for (const step of goals) premise = { kind: 'derived', proof: this.tailProof(step, rec, premise) };
    if (premise.kind !== 'derived') throw new TypeError('a stored answer has no proof');
    return premise.proof;
  }

  /** The user's tail rule at one goal: its row lacks the free variables, which the answer supplies. */
  private tailProof(step: Recorded, answer: Rec, tail: Premise): Proof {
    const source = step.rule.source!;
    const row = step.row.slice();
    source.head.args.forEach((arg, position) => {
      if (arg.kind === 'var' && !step.rule.linear!.boundPositions.includes(position)) row[arg.slot] = answer.args[position];
    });
    return this.ruleProof(step.rule, row, tail);
  }

  private ruleProof(rule: IRule, row: Row, tail: Premise | null): Proof {
    const source = rule.source!;
    const premises = source.body.map((_, index): Premise => {
      if (tail !== null && index === rule.linear?.tail) return tail;
      const at = rule.body.findIndex((literal) => literal.origin === index);
      return this.premise(rule.body[at]!, row[rule.slots + at], row);
    });
    return {
      rule: source.text,
      ruleId: source.id,
      fact: { predicate: source.head.predicate, args: instantiate(source.head.args, row) },
      substitution: Object.fromEntries(source.vars.map((name, slot) => [name, row[slot] as Term])),
      premises,
    };
  }

  private premise(literal: ILiteral, value: unknown, row: Row): Premise {
    if (literal.kind === 'compare') {
      const [left, right] = instantiate([literal.literal.left, literal.literal.right], row);
      return { kind: 'compare', text: `${formatValue(left!)} ${literal.literal.op} ${formatValue(right!)}` };
    }
    const { predicate, negated } = literal.atom;
    if (literal.kind === 'not') return { kind: 'not', predicate, args: value as Term[], negated };
    const rec = value as Rec;
    if (rec.origin !== null) return { kind: 'derived', proof: this.memo.get(rec)! };
    return rec.ref === undefined
      ? { kind: 'stored', predicate, args: rec.args, negated }
      : { kind: 'stored', predicate, args: rec.args, negated, ref: rec.ref };
  }
}
