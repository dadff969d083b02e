/**
 * Magic-sets rewriting of one component for one binding pattern ("adornment": which argument
 * positions the caller binds).
 *
 * For each adorned relation p^a there is an answer table and a demand table m_p^a holding the
 * bound arguments asked for. A user rule `p(h) :- B1 … Bn` becomes
 *   p^a(h)          :- m_p^a(h_a), B1 … Bn                (answers only what was asked)
 *   m_q^a'(args_a') :- m_p^a(h_a), B1 … B(k-1)            (for each Bk over q in the component)
 * where the order of B1 … Bn and each a' follow the plan (sideways information passing): a'
 * marks the positions of Bk bound by the head's bound arguments and the literals before it.
 * Literals over other components are not rewritten: the join asks their instance with the bound
 * values it has, which is the same demand passing one level down.
 */
import type { IRule, ILiteral } from './irule.js';
import type { BuildContext, InstancePlan } from './instance-plan.js';
import { argsAt, localAtom, maskText, planLiterals, relationOf, storedRule, userLiteral } from './instance-plan.js';
import { orderLiterals } from './plan.js';
import type { Arg, CompiledRule } from './program.js';
import type { Component } from './stratify.js';
import { Table, maskPositions } from './table.js';

interface Adorned {
  readonly rel: string;
  readonly mask: number;
  readonly answers: Table;
  readonly demand: Table;
}

function maskOf(args: readonly Arg[], bound: ReadonlySet<number>): number {
  return args.reduce((mask, arg, position) => (arg.kind === 'const' || bound.has(arg.slot) ? mask | (1 << position) : mask), 0);
}

function bindSlots(literal: ILiteral, bound: Set<number>): void {
  if (literal.kind !== 'atom') return;
  for (const arg of literal.atom.args) if (arg.kind === 'var') bound.add(arg.slot);
}

class MagicRewriter {
  private readonly adorned = new Map<string, Adorned>();
  private readonly queue: Adorned[] = [];
  readonly rules: IRule[] = [];
  private readonly inComponent: ReadonlyMap<string, Table>;

  constructor(
    component: Component,
    private readonly context: BuildContext,
  ) {
    // Placeholder tables only mark which atoms are local; the adorned table is chosen per literal.
    this.inComponent = new Map(component.relations.map((rel) => [rel, new Table(rel, 0)]));
  }

  adorn(rel: string, mask: number): Adorned {
    const key = `${rel}#${mask}`;
    let adorned = this.adorned.get(key);
    if (adorned === undefined) {
      const { arity } = relationOf(this.context.program, rel);
      const name = `${rel}^${maskText(mask, arity)}`;
      adorned = { rel, mask, answers: new Table(name, arity), demand: new Table(`m_${name}`, maskPositions(mask).length) };
      this.adorned.set(key, adorned);
      this.queue.push(adorned);
    }
    return adorned;
  }

  run(): Adorned[] {
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      for (const rule of this.context.program.rulesByHead.get(next.rel) ?? []) this.rewrite(rule, next);
      this.rules.push(storedRule(this.context.program, next.rel, next.answers, { table: next.demand, mask: next.mask }));
    }
    return [...this.adorned.values()];
  }

  private rewrite(rule: CompiledRule, adorned: Adorned): void {
    const { program, withProof } = this.context;
    const demandArgs = argsAt(rule.head.args, adorned.mask);
    const demand = localAtom(adorned.demand, demandArgs);
    const user = rule.body.map((literal, i) => userLiteral(program, literal, i, this.inComponent));
    const bound = new Set<number>();
    bindSlots(demand, bound);
    const body: ILiteral[] = [demand];
    for (const index of orderLiterals(planLiterals(user, this.context), bound)) {
      let literal = user[index]!;
      if (literal.kind === 'atom' && literal.source === 'local') {
        const callee = this.adorn(literal.atom.rel, maskOf(literal.atom.args, bound));
        const head = { table: callee.demand, args: argsAt(literal.atom.args, callee.mask) };
        this.rules.push({ kind: 'demand', source: rule, slots: rule.vars.length, head, body: [...body], tracked: false, linear: null });
        literal = { ...literal, table: callee.answers };
      }
      body.push(literal);
      bindSlots(literal, bound);
    }
    const head = { table: adorned.answers, args: rule.head.args };
    this.rules.push({ kind: 'rule', source: rule, slots: rule.vars.length, head, body, tracked: withProof, linear: null });
  }
}

/** Magic-sets instance for `rel` asked with the positions of `mask` bound. */
export function buildMagic(component: Component, rel: string, mask: number, context: BuildContext): InstancePlan {
  const rewriter = new MagicRewriter(component, context);
  const entry = rewriter.adorn(rel, mask);
  const adorned = rewriter.run();
  return {
    mode: 'magic',
    rules: rewriter.rules,
    tables: adorned.flatMap((a) => [a.demand, a.answers]),
    answers: new Map([[rel, entry.answers]]),
    seeds: entry.demand,
    seedOf: (values) => [...values],
  };
}
