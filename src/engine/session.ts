/**
 * One query evaluation: the stored relations read so far, the instances created so far (one per
 * derived component and binding pattern asked), and the routing between them. Everything here
 * lives exactly as long as the query, which bounds memory to what the query touched.
 */
import type { Term } from '../domain/fact.js';
import type { RunContext } from './context.js';
import type { AccessProvider } from './instance.js';
import { Instance } from './instance.js';
import type { BuildContext, InstancePlan } from './instance-plan.js';
import { buildFull, storedLiteral } from './instance-plan.js';
import type { ILiteral } from './irule.js';
import { buildLinear, linearTails } from './linear.js';
import { buildMagic } from './magic.js';
import { DERIVED_SIZE_GUESS } from './plan.js';
import type { CAtom, CompiledProgram } from './program.js';
import type { FactSource } from './source.js';
import { StoredRelation } from './stored.js';
import type { Access, IndexKey, Rec, Table } from './table.js';
import { EMPTY } from './table.js';

/** Demand tables are small next to the relations they filter. */
const DEMAND_SIZE_GUESS = 10;

/** Answers of a derived relation for one binding pattern, asked from the instance that computes them. */
class DerivedAccess implements Access {
  private table: Table | null = null;
  private complete = false;

  constructor(
    private readonly session: Session,
    private readonly rel: string,
  ) {}

  async prepare(mask: number, keys: ReadonlyMap<IndexKey, readonly Term[]>): Promise<void> {
    const instance = await this.session.instanceFor(this.rel, mask);
    await instance.demand(keys.values());
    this.table = instance.answers(this.rel);
    this.complete = instance.plan.mode === 'full';
  }

  /** A full instance has every answer once it ran: no more demand to pass. */
  ready(): boolean {
    return this.complete;
  }

  lookup(mask: number, key: IndexKey): readonly Rec[] {
    return this.table === null ? EMPTY : this.table.lookup(mask, key);
  }

  buckets(mask: number): ReadonlyMap<IndexKey, readonly Rec[]> | null {
    return this.complete && this.table !== null ? this.table.buckets(mask) : null;
  }
}

export class Session implements AccessProvider, BuildContext {
  private readonly storedRelations = new Map<string, StoredRelation>();
  private readonly estimates = new Map<StoredRelation, number>();
  private readonly full = new Map<number, Instance>();
  private readonly goalDirected = new Map<string, Instance>();

  constructor(
    readonly program: CompiledProgram,
    private readonly source: FactSource,
    readonly context: RunContext,
  ) {}

  get withProof(): boolean {
    return this.context.withProof;
  }

  /** Stored facts matching an atom's predicate, arity, polarity and constants. */
  stored(atom: CAtom): StoredRelation {
    const key = JSON.stringify([atom.predicate, atom.negated, atom.args.map((arg) => (arg.kind === 'var' ? 0 : [arg.value]))]);
    let relation = this.storedRelations.get(key);
    if (relation === undefined) {
      const args = atom.args.map((arg) => (arg.kind === 'var' ? undefined : arg.value));
      relation = new StoredRelation(this.source, { predicate: atom.predicate, args, negated: atom.negated }, this.context);
      this.storedRelations.set(key, relation);
    }
    return relation;
  }

  access(literal: ILiteral, mask: number): Access {
    if (literal.kind === 'compare') throw new TypeError('comparisons have no access');
    if (literal.source === 'stored') return this.stored(literal.atom);
    if (literal.source === 'derived') return new DerivedAccess(this, literal.atom.rel);
    if (literal.kind === 'atom' && literal.table !== null) return literal.table;
    throw new TypeError(`no access for ${literal.atom.rel} with mask ${mask}`);
  }

  base(literal: ILiteral): number {
    if (literal.kind !== 'atom') return 0;
    if (literal.source === 'stored') return this.estimates.get(this.stored(literal.atom)) ?? DERIVED_SIZE_GUESS;
    if (literal.origin < 0) return DEMAND_SIZE_GUESS;
    const constants = literal.atom.args.filter((arg) => arg.kind === 'const').length;
    return DERIVED_SIZE_GUESS / 20 ** constants;
  }

  /** Asks the store for the size of every stored atom pattern before planning with them. */
  async prefetchEstimates(atoms: Iterable<CAtom>): Promise<void> {
    const relations = new Set<StoredRelation>();
    for (const atom of atoms) relations.add(this.stored(atom));
    await Promise.all(
      [...relations].filter((relation) => !this.estimates.has(relation)).map(async (relation) => this.estimates.set(relation, await relation.estimate())),
    );
  }

  /** The instance answering `rel` asked with the positions of `mask` bound (created on first use). */
  async instanceFor(rel: string, mask: number): Promise<Instance> {
    const component = this.program.componentOf.get(rel);
    if (component === undefined) throw new TypeError(`${rel} is not derived`);
    const complete = this.full.get(component.index);
    if (complete !== undefined) return complete;
    const key = `${rel}#${mask}`;
    const known = this.goalDirected.get(key);
    if (known !== undefined) return known;
    await this.prefetchEstimates(this.storedAtomsOf(component.relations));
    const tails = mask === 0 ? null : linearTails(this.program, component, rel, mask);
    let plan: InstancePlan;
    if (mask === 0) plan = buildFull(component, this);
    else if (tails !== null) plan = buildLinear(rel, mask, tails, this);
    else plan = buildMagic(component, rel, mask, this);
    const instance = new Instance(plan, this, this, this.context);
    this.context.stats.instances += 1;
    if (mask === 0) this.full.set(component.index, instance);
    else this.goalDirected.set(key, instance);
    return instance;
  }

  private *storedAtomsOf(relations: readonly string[]): Iterable<CAtom> {
    for (const rel of relations) {
      const stored = storedLiteral(this.program, rel);
      if (stored.kind === 'atom') yield stored.atom;
      for (const rule of this.program.rulesByHead.get(rel) ?? []) {
        for (const literal of rule.body) if (literal.kind === 'atom' && (literal.negated || !this.program.rulesByHead.has(literal.rel))) yield literal;
      }
    }
  }
}
