/**
 * Semi-naive fixpoint of one instance (one component, one binding pattern).
 *
 * Each instance rule with local literals L1 … Lk runs as k variants; variant i reads the last
 * round's delta of Li (first in its join order), the tuples before that round for Lj (j < i) and
 * all visible tuples for Lj (j > i), so every combination with at least one new tuple is joined
 * exactly once. Rules without local literals run once, at the start.
 *
 * Demand is incremental: asking for new bound values adds seeds and continues the fixpoint from
 * where it stopped; answers for values asked before are already complete. Other components are
 * complete for whatever they were asked (they never depend on this one), so within a fixpoint
 * they behave like stored relations.
 */
import type { Term } from '../domain/fact.js';
import type { RunContext } from './context.js';
import type { IRule, ILiteral } from './irule.js';
import type { BuildContext, InstancePlan } from './instance-plan.js';
import { planLiterals } from './instance-plan.js';
import type { Row } from './join.js';
import { runSteps } from './join.js';
import type { Step, View } from './steps.js';
import { compileSteps } from './steps.js';
import { orderLiterals } from './plan.js';
import type { Access, Rec, Table } from './table.js';
import { UNRECORDED } from './table.js';

/** How an instance reaches what is not its own: the store and other instances. */
export interface AccessProvider {
  access(literal: ILiteral, mask: number): Access;
}

interface Variant {
  readonly rule: IRule;
  /** The local table whose delta drives this variant (null: runs once at the start). */
  readonly delta: Table | null;
  readonly steps: readonly Step[];
}

function compileVariant(rule: IRule, deltaIndex: number, provider: AccessProvider, build: BuildContext): Variant {
  const order = orderLiterals(planLiterals(rule.body, build), new Set(), deltaIndex);
  const view = (index: number): View => (index === deltaIndex ? 'delta' : index < deltaIndex ? 'old' : 'full');
  const access = (literal: ILiteral, mask: number): Access =>
    literal.kind === 'atom' && literal.source === 'local' ? literal.table! : provider.access(literal, mask);
  const steps = compileSteps(rule.body, order, { access, view }, rule.tracked ? rule.slots : -1);
  const deltaLiteral = rule.body[deltaIndex];
  return { rule, delta: deltaLiteral?.kind === 'atom' ? deltaLiteral.table : null, steps };
}

/** Whether a linear-mode stored answer was found at the root goal itself (then it is just the stored fact). */
function atRoot(rule: IRule, row: Row): boolean {
  const linear = rule.linear!;
  return linear.rootSlots.every((slot, i) => row[slot] === row[linear.boundPositions[i]!]);
}

export class Instance {
  private round = 0;
  private started = false;
  private readonly initial: Variant[] = [];
  private readonly incremental: Variant[] = [];

  constructor(
    readonly plan: InstancePlan,
    provider: AccessProvider,
    build: BuildContext,
    private readonly context: RunContext,
  ) {
    for (const rule of plan.rules) {
      const locals = rule.body.flatMap((literal, i) => (literal.kind === 'atom' && literal.source === 'local' ? [i] : []));
      if (locals.length === 0) this.initial.push(compileVariant(rule, -1, provider, build));
      for (const i of locals) this.incremental.push(compileVariant(rule, i, provider, build));
    }
  }

  answers(rel: string): Table {
    const table = this.plan.answers.get(rel);
    if (table === undefined) throw new TypeError(`instance has no answers for ${rel}`);
    return table;
  }

  /** Makes the answers for these bound values complete (values in position order of the instance's mask). */
  async demand(values: Iterable<readonly Term[]>): Promise<void> {
    const seeds = this.plan.seeds;
    if (seeds !== null) {
      for (const value of values) if (seeds.add(this.plan.seedOf(value), UNRECORDED) !== null) this.context.stats.demandTuples += 1;
    }
    if (!this.started) {
      this.started = true;
      for (const variant of this.initial) await this.fire(variant);
    }
    while (await this.commit()) {
      this.context.stats.rounds += 1;
      for (const variant of this.incremental) if (variant.delta!.hasDelta()) await this.fire(variant);
    }
  }

  private async commit(): Promise<boolean> {
    this.round += 1;
    let added = 0;
    for (const table of this.plan.tables) added += await table.commit(this.round, this.context);
    return added > 0;
  }

  private async fire(variant: Variant): Promise<void> {
    const { rule } = variant;
    const width = rule.slots + (rule.tracked ? rule.body.length : 0);
    const before = rule.head.table.size;
    await runSteps(variant.steps, width, this.round, this.context, this.emitter(rule));
    const added = rule.head.table.size - before;
    if (rule.kind === 'demand' || rule.kind === 'goal') this.context.stats.demandTuples += added;
    else this.context.stats.derivedTuples += added;
  }

  /** Adds the head of each row to the rule's table; rows are scratch, so kept ones are copied. */
  private emitter(rule: IRule): (row: Row) => void {
    const table = rule.head.table;
    const storedPremise = rule.slots + rule.body.length - 1;
    const stored = rule.kind === 'stored' || rule.kind === 'linear-stored';
    const head = rule.head.args;
    const args = new Array<Term>(head.length);
    const context = this.context;
    return (row) => {
      for (let i = 0; i < head.length; i++) {
        const arg = head[i]!;
        args[i] = arg.kind === 'var' ? (row[arg.slot] as Term) : arg.value;
      }
      if (stored && (rule.kind === 'stored' || atRoot(rule, row))) {
        table.add(args, null, (row[storedPremise] as Rec).ref);
        return;
      }
      const rec = table.add(args, UNRECORDED);
      if (rec === null) return;
      context.produced(1);
      if (rule.tracked) rec.origin = { rule, row: row.slice() };
    };
  }
}
