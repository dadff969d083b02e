/**
 * Stratification over the dependency graph of derived relations (predicate/arity). Strongly
 * connected components (Tarjan) are the units of recursion; a negative edge inside a component is
 * negation through recursion and has no stratified meaning, so it is reported as a value
 * (the caller turns it into an error naming the rule). Components come out dependencies-first,
 * which is an evaluation order.
 */

/** `head depends on body` through one literal of rule number `rule`. */
export interface Dependency {
  readonly from: string;
  readonly to: string;
  readonly negative: boolean;
  readonly rule: number;
}

export interface Component {
  readonly index: number;
  readonly relations: readonly string[];
  /** Has a cycle (more than one relation, or a relation depending on itself). */
  readonly recursive: boolean;
  /** 0 for components that use no negation on derived relations; otherwise 1 + the stratum they negate. */
  readonly stratum: number;
}

export type Stratification =
  | { readonly ok: true; readonly components: readonly Component[]; readonly strata: readonly (readonly string[])[] }
  | { readonly ok: false; readonly negativeCycle: Dependency };

interface Frame {
  readonly node: string;
  next: number;
}

/** Tarjan's algorithm, iterative (no recursion limit on large programs). Emits dependencies first. */
export function stronglyConnected(nodes: readonly string[], successors: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string, work: Frame[]): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    work.push({ node, next: 0 });
  };
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Frame[] = [];
    visit(root, work);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = successors.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!;
        if (!index.has(target)) visit(target, work);
        else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) components.push(popComponent(stack, onStack, frame.node));
    }
  }
  return components;
}

function popComponent(stack: string[], onStack: Set<string>, root: string): string[] {
  const component: string[] = [];
  for (;;) {
    const node = stack.pop()!;
    onStack.delete(node);
    component.push(node);
    if (node === root) return component.reverse();
  }
}

/** Components of the derived relations in evaluation order, or the first negative edge inside a cycle. */
export function stratify(derived: readonly string[], dependencies: readonly Dependency[]): Stratification {
  const isDerived = new Set(derived);
  const edges = dependencies.filter((edge) => isDerived.has(edge.to));
  const successors = new Map<string, string[]>();
  for (const edge of edges) {
    const list = successors.get(edge.from);
    if (list === undefined) successors.set(edge.from, [edge.to]);
    else list.push(edge.to);
  }
  const sccs = stronglyConnected(derived, successors);
  const componentOf = new Map<string, number>();
  sccs.forEach((relations, i) => relations.forEach((relation) => componentOf.set(relation, i)));
  const cycle = edges.find((edge) => edge.negative && componentOf.get(edge.from) === componentOf.get(edge.to));
  if (cycle !== undefined) return { ok: false, negativeCycle: cycle };

  const strata: number[] = [];
  const components = sccs.map((relations, i): Component => {
    const own = new Set(relations);
    const outgoing = edges.filter((edge) => own.has(edge.from));
    let stratum = 0;
    for (const edge of outgoing) {
      const target = componentOf.get(edge.to)!;
      if (target !== i) stratum = Math.max(stratum, strata[target]! + (edge.negative ? 1 : 0));
    }
    strata.push(stratum);
    const recursive = relations.length > 1 || outgoing.some((edge) => edge.to === edge.from);
    return { index: i, relations, recursive, stratum };
  });
  const grouped: string[][] = [];
  for (const component of components) (grouped[component.stratum] ??= []).push(...component.relations);
  return { ok: true, components, strata: grouped };
}
