/**
 * Cross-check against a breadth-first search on a seeded random graph (about 2,000 edges on
 * 1,000 nodes, so a large strongly connected part with many cycles): single-source queries from
 * 50 random nodes, single-target queries, and the full closure must equal BFS exactly.
 */
import test from 'ava';
import type { Term } from '../../src/domain/fact.js';
import { compileProgram, evaluateQuery, parseQuery, parseRules } from '../../src/engine/index.js';
import { checkProof } from './ask.js';
import type { MemoryFact } from './memory-source.js';
import { MemorySource, fact, mulberry32 } from './memory-source.js';

const NODES = 1000;
const EDGES = 2000;
const random = mulberry32(20240611);
const pick = (): number => Math.floor(random() * NODES);
const facts: MemoryFact[] = Array.from({ length: EDGES }, () => fact('edge', `n${pick()}`, `n${pick()}`));
const program = compileProgram(parseRules('reach(?x, ?y) :- edge(?x, ?y). reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).'));

function adjacency(reverse: boolean): Map<Term, Term[]> {
  const next = new Map<Term, Term[]>();
  for (const { args } of facts) {
    const [from, to] = reverse ? [args[1]!, args[0]!] : [args[0]!, args[1]!];
    next.set(from, [...(next.get(from) ?? []), to]);
  }
  return next;
}
const forward = adjacency(false);
const backward = adjacency(true);

/** Nodes reachable from `start` by one or more edges. */
function bfs(start: Term, next: Map<Term, Term[]>): Set<Term> {
  const seen = new Set<Term>();
  let frontier = [start];
  while (frontier.length > 0) {
    const following: Term[] = [];
    for (const node of frontier) {
      for (const to of next.get(node) ?? []) {
        if (seen.has(to)) continue;
        seen.add(to);
        following.push(to);
      }
    }
    frontier = following;
  }
  return seen;
}

const sorted = (values: Iterable<Term>): string[] => [...values].map(String).sort();

test('reach(s, ?y) › 50 random start nodes › equals BFS', async (t) => {
  const source = new MemorySource(facts);
  for (let i = 0; i < 50; i++) {
    const start = `n${pick()}`;
    const answers = await evaluateQuery(program, source, parseQuery(`reach(${start}, ?y)`));
    t.deepEqual(sorted(answers.map((answer) => answer.bindings['y']!)), sorted(bfs(start, forward)), start);
  }
});

test('reach(?x, t) › 20 random targets › equals BFS on reversed edges', async (t) => {
  const source = new MemorySource(facts);
  for (let i = 0; i < 20; i++) {
    const target = `n${pick()}`;
    const answers = await evaluateQuery(program, source, parseQuery(`reach(?x, ${target})`));
    t.deepEqual(sorted(answers.map((answer) => answer.bindings['x']!)), sorted(bfs(target, backward)), target);
  }
});

test('reach(?x, ?y) › full closure › equals BFS from every node', async (t) => {
  const answers = await evaluateQuery(program, new MemorySource(facts), parseQuery('reach(?x, ?y)'));
  const expected = new Map<Term, Set<Term>>();
  let total = 0;
  for (let i = 0; i < NODES; i++) {
    const reached = bfs(`n${i}`, forward);
    if (reached.size > 0) expected.set(`n${i}`, reached);
    total += reached.size;
  }
  t.is(answers.length, total);
  for (const { bindings } of answers) {
    if (!expected.get(bindings['x']!)?.has(bindings['y']!)) return t.fail(`unexpected ${String(bindings['x'])} → ${String(bindings['y'])}`);
  }
  t.pass();
});

test('reach(s, ?y) withProof › random graph › every proof is a valid derivation', async (t) => {
  const source = new MemorySource(facts);
  const start = `n${pick()}`;
  const answers = await evaluateQuery(program, source, parseQuery(`reach(${start}, ?y)`), { withProof: true });
  t.true(answers.length > 0);
  for (const answer of answers.slice(0, 100)) checkProof(t, answer.matches[0]!.proof!, facts);
});

test('bound queries › non-linear and mutually recursive programs › equal the filtered full answer', async (t) => {
  const programs = [
    'sg(?x, ?y) :- flat(?x, ?y). sg(?x, ?y) :- up(?x, ?a), sg(?a, ?b), down(?b, ?y).',
    'p(?x, ?y) :- e(?x, ?y). p(?x, ?y) :- q(?x, ?z), e(?z, ?y). q(?x, ?y) :- p(?x, ?y), ?x != ?y. q(?x, ?y) :- e(?y, ?x), not blocked(?y).',
    't(?x, ?y) :- e(?x, ?y). t(?x, ?y) :- t(?x, ?z), t(?z, ?y).',
  ];
  const rnd = mulberry32(7);
  const node = (): string => `v${Math.floor(rnd() * 60)}`;
  const data: MemoryFact[] = [];
  for (const predicate of ['flat', 'up', 'down', 'e', 'e', 'blocked']) for (let i = 0; i < 40; i++) data.push(fact(predicate, ...(predicate === 'blocked' ? [node()] : [node(), node()])));
  const source = new MemorySource(data);
  for (const text of programs) {
    const rules = compileProgram(parseRules(text));
    const predicate = text.slice(0, text.indexOf('('));
    const all = await evaluateQuery(rules, source, parseQuery(`${predicate}(?x, ?y)`));
    for (let i = 0; i < 15; i++) {
      const constant = node();
      const fromLeft = await evaluateQuery(rules, source, parseQuery(`${predicate}(${constant}, ?y)`));
      const fromRight = await evaluateQuery(rules, source, parseQuery(`${predicate}(?x, ${constant})`));
      t.deepEqual(sorted(fromLeft.map((a) => a.bindings['y']!)), sorted(all.filter((a) => a.bindings['x'] === constant).map((a) => a.bindings['y']!)), `${predicate}(${constant}, ?y)`);
      t.deepEqual(sorted(fromRight.map((a) => a.bindings['x']!)), sorted(all.filter((a) => a.bindings['y'] === constant).map((a) => a.bindings['x']!)), `${predicate}(?x, ${constant})`);
    }
  }
});
