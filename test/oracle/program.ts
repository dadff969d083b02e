/**
 * Random safe, stratified Datalog programs for the differential run against SWI-Prolog, from a
 * seeded generator: linear (left and right) and non-linear recursion, mutual recursion,
 * negation as failure across strata, classical negation of stored facts, comparisons across
 * types, repeated variables, constants in heads and bodies, 0–3-ary predicates, ints and strings.
 */

export type Value = string | number;
export type GTerm = { readonly v: string } | { readonly c: Value };

export interface Pred {
  readonly name: string;
  readonly arity: number;
  /** Has rules (derived); stratum order for derived predicates. */
  readonly derived: boolean;
  readonly level: number;
}

export interface GAtom {
  readonly pred: string;
  readonly args: readonly GTerm[];
  /** Classical negation: matches facts told with `negated: true`. */
  readonly negated: boolean;
}

export type GLiteral =
  | { readonly kind: 'atom'; readonly atom: GAtom }
  | { readonly kind: 'not'; readonly atom: GAtom }
  | { readonly kind: 'cmp'; readonly op: '=' | '!=' | '<' | '<=' | '>' | '>='; readonly left: GTerm; readonly right: GTerm };

export interface GRule {
  readonly head: { readonly pred: string; readonly args: readonly GTerm[] };
  readonly body: readonly GLiteral[];
}

export interface GFact {
  readonly pred: string;
  readonly args: readonly Value[];
  readonly negated: boolean;
}

export interface GProgram {
  readonly seed: number;
  readonly preds: readonly Pred[];
  readonly rules: readonly GRule[];
}

/** Seeded PRNG (mulberry32). */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Strings include a surrogate pair and a BMP character above U+E000 (their orders differ in UTF-16). */
export const DOMAIN: readonly Value[] = [0, 1, 2, 3, 'a', 'b', 'c', 'B', 'ｚ', '😀', '1'];
const VARS = ['x', 'y', 'z', 'w'];
const OPS = ['=', '!=', '<', '<=', '>', '>='] as const;

const v = (name: string): GTerm => ({ v: name });
const c = (value: Value): GTerm => ({ c: value });
export const isVar = (term: GTerm): term is { readonly v: string } => 'v' in term;

function randomAtom(random: Random, pred: Pred, negated = false): GAtom {
  const args = Array.from({ length: pred.arity }, () => (random.chance(0.12) ? c(random.pick(DOMAIN)) : v(random.pick(VARS))));
  return { pred: pred.name, args, negated };
}

function atomVars(atom: GAtom): string[] {
  return atom.args.filter(isVar).map((term) => term.v);
}

/** A bound variable or, sometimes, a constant. */
function boundTerm(random: Random, bound: readonly string[]): GTerm {
  return bound.length === 0 || random.chance(0.3) ? c(random.pick(DOMAIN)) : v(random.pick(bound));
}

function randomRule(random: Random, head: Pred, preds: readonly Pred[]): GRule {
  const positive = preds.filter((p) => !p.derived || p.level <= head.level);
  const lower = preds.filter((p) => !p.derived || p.level < head.level);
  const body: GLiteral[] = [];
  const count = 1 + random.int(3);
  for (let i = 0; i < count; i++) {
    const pred = random.pick(positive);
    // Classical negation reads stored facts: any predicate may have negated stored facts.
    body.push({ kind: 'atom', atom: randomAtom(random, pred, random.chance(0.08)) });
  }
  const bound = [...new Set(body.flatMap((literal) => (literal.kind === 'atom' ? atomVars(literal.atom) : [])))];
  if (random.chance(0.3) && lower.length > 0) {
    const pred = random.pick(lower);
    body.push({ kind: 'not', atom: { pred: pred.name, args: Array.from({ length: pred.arity }, () => boundTerm(random, bound)), negated: false } });
  }
  if (random.chance(0.3) && bound.length > 0) {
    body.push({ kind: 'cmp', op: random.pick(OPS), left: v(random.pick(bound)), right: boundTerm(random, bound) });
  }
  const args = Array.from({ length: head.arity }, () => boundTerm(random, bound));
  return { head: { pred: head.name, args }, body };
}

/** A recursion template, so every shape shows up often: right-linear, left-linear, non-linear. */
function recursiveRule(random: Random, head: Pred, preds: readonly Pred[]): GRule | null {
  const edges = preds.filter((p) => !p.derived && p.arity === 2);
  if (edges.length === 0 || (head.arity !== 2 && head.arity !== 3)) return null;
  const edge = random.pick(edges).name;
  const self = head.name;
  const atom = (pred: string, ...names: string[]): GLiteral => ({ kind: 'atom', atom: { pred, args: names.map(v), negated: false } });
  if (head.arity === 3) {
    // A variable repeated across the free positions of a linear tail call (the class-1 shape), both ways.
    return random.chance(0.5)
      ? { head: { pred: self, args: [v('x'), v('z'), v('z')] }, body: [atom(edge, 'x', 'y'), atom(self, 'y', 'z', 'z')] }
      : { head: { pred: self, args: [v('z'), v('z'), v('x')] }, body: [atom(self, 'z', 'z', 'y'), atom(edge, 'y', 'x')] };
  }
  const headArgs = [v('x'), v('z')];
  switch (random.int(4)) {
    case 0:
      return { head: { pred: self, args: headArgs }, body: [atom(edge, 'x', 'y'), atom(self, 'y', 'z')] };
    case 1:
      return { head: { pred: self, args: headArgs }, body: [atom(self, 'x', 'y'), atom(edge, 'y', 'z')] };
    case 2:
      return { head: { pred: self, args: headArgs }, body: [atom(self, 'x', 'y'), atom(self, 'y', 'z')] };
    default:
      // Repeated variables through the recursion (the class-1 shape).
      return { head: { pred: self, args: [v('x'), v('z')] }, body: [atom(edge, 'x', 'y'), atom(self, 'y', 'z'), atom(self, 'z', 'z')] };
  }
}

export function generateProgram(seed: number): GProgram {
  const random = new Random(seed);
  const preds: Pred[] = [];
  const stored = 2 + random.int(2);
  for (let i = 0; i < stored; i++) preds.push({ name: `e${i}`, arity: i === 0 ? 2 : random.int(4), derived: false, level: 0 });
  const derived = 1 + random.int(4);
  let level = 0;
  for (let i = 0; i < derived; i++) {
    if (i > 0 && random.chance(0.5)) level += 1;
    preds.push({ name: `p${i}`, arity: random.chance(0.6) ? 2 : random.int(4), derived: true, level });
  }
  const rules: GRule[] = [];
  for (const head of preds.filter((p) => p.derived)) {
    // An exit rule first (non-recursive), then more rules, possibly recursive.
    const base = preds.filter((p) => !p.derived || p.level < head.level);
    rules.push(randomRule(random, head, base));
    const more = random.int(3);
    for (let i = 0; i < more; i++) {
      const template = random.chance(0.4) ? recursiveRule(random, head, preds) : null;
      rules.push(template ?? randomRule(random, head, preds));
    }
  }
  return { seed, preds, rules };
}

/** Random stored facts: for stored predicates, and a few for derived ones (a relation is both). */
export function generateFacts(random: Random, preds: readonly Pred[], scale = 1): GFact[] {
  const facts = new Map<string, GFact>();
  for (const pred of preds) {
    const count = Math.round((pred.derived ? random.int(3) : 3 + random.int(10)) * scale);
    for (let i = 0; i < count; i++) {
      const args = Array.from({ length: pred.arity }, () => random.pick(DOMAIN));
      const fact: GFact = { pred: pred.name, args, negated: random.chance(0.1) };
      facts.set(factKey(fact), fact);
    }
  }
  return withoutContradictions([...facts.values()]);
}

export const factKey = (fact: GFact): string => JSON.stringify([fact.pred, fact.negated, fact.args]);

/** A fact and its negation cannot both be stored in one scope (409): keep the positive one. */
export function withoutContradictions(facts: readonly GFact[]): GFact[] {
  const positive = new Set(facts.filter((f) => !f.negated).map((f) => JSON.stringify([f.pred, f.args])));
  return facts.filter((f) => !f.negated || !positive.has(JSON.stringify([f.pred, f.args])));
}

// ---- text forms

export function termText(term: GTerm): string {
  return isVar(term) ? `?${term.v}` : JSON.stringify(term.c);
}

export function atomText(atom: GAtom): string {
  return `${atom.negated ? '-' : ''}${atom.pred}(${atom.args.map(termText).join(', ')})`;
}

export function ruleText(rule: GRule): string {
  const body = rule.body.map((literal) => {
    if (literal.kind === 'atom') return atomText(literal.atom);
    if (literal.kind === 'not') return `not ${atomText(literal.atom)}`;
    return `${termText(literal.left)} ${literal.op} ${termText(literal.right)}`;
  });
  return `${rule.head.pred}(${rule.head.args.map(termText).join(', ')}) :- ${body.join(', ')}.`;
}
