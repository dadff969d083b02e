import test from 'ava';
import { ValidationError } from '../../src/domain/errors.js';
import { compileProgram, evaluateQuery, parseQuery, parseRules } from '../../src/engine/index.js';
import { ask, column } from './ask.js';
import type { MemoryFact } from './memory-source.js';
import { MemorySource, fact, negatedFact } from './memory-source.js';

const ANCESTOR = `
  ancestor(?x, ?y) :- parent(?x, ?y).
  ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).
`;
const chain = ['a', 'b', 'c', 'd'].slice(1).map((child, i) => fact('parent', ['a', 'b', 'c'][i]!, child));
const cycle = [fact('parent', 'a', 'b'), fact('parent', 'b', 'c'), fact('parent', 'c', 'a')];

test('evaluateQuery › recursion over a chain › every binding pattern is complete', async (t) => {
  t.deepEqual(column(await ask(ANCESTOR, chain, 'ancestor(a, ?y)'), 'y'), ['b', 'c', 'd']);
  t.deepEqual(column(await ask(ANCESTOR, chain, 'ancestor(?x, d)'), 'x'), ['a', 'b', 'c']);
  t.deepEqual((await ask(ANCESTOR, chain, 'ancestor(?x, ?y)')).bindings.length, 6);
  t.deepEqual((await ask(ANCESTOR, chain, 'ancestor(b, d)')).bindings, [{}]);
  t.deepEqual((await ask(ANCESTOR, chain, 'ancestor(d, a)')).bindings, []);
});

test('evaluateQuery › recursion over a cycle › terminates with complete answers', async (t) => {
  t.deepEqual(column(await ask(ANCESTOR, cycle, 'ancestor(a, ?y)'), 'y'), ['a', 'b', 'c']);
  t.deepEqual(column(await ask(ANCESTOR, cycle, 'ancestor(?x, b)'), 'x'), ['a', 'b', 'c']);
  t.is((await ask(ANCESTOR, cycle, 'ancestor(?x, ?y)')).answers.length, 9);
  t.deepEqual(column(await ask(ANCESTOR, cycle, 'ancestor(?x, ?x)'), 'x'), ['a', 'b', 'c']);
});

test('evaluateQuery › left and doubly recursive rules › same answers as right recursion', async (t) => {
  const left = 'anc(?x, ?y) :- parent(?x, ?y). anc(?x, ?z) :- anc(?x, ?y), parent(?y, ?z).';
  const double = 'anc(?x, ?y) :- parent(?x, ?y). anc(?x, ?z) :- anc(?x, ?y), anc(?y, ?z).';
  for (const rules of [left, double]) {
    t.deepEqual(column(await ask(rules, cycle, 'anc(b, ?y)'), 'y'), ['a', 'b', 'c']);
    t.deepEqual(column(await ask(rules, chain, 'anc(?x, c)'), 'x'), ['a', 'b']);
    t.is((await ask(rules, chain, 'anc(?x, ?y)')).answers.length, 6);
  }
});

test('evaluateQuery › mutual recursion › even and odd numbers', async (t) => {
  const rules = 'even(?x) :- zero(?x). even(?y) :- succ(?x, ?y), odd(?x). odd(?y) :- succ(?x, ?y), even(?x).';
  const facts = [fact('zero', 0), ...Array.from({ length: 10 }, (_, i) => fact('succ', i, i + 1))];
  t.deepEqual(column(await ask(rules, facts, 'even(?n)'), 'n'), [0, 2, 4, 6, 8, 10]);
  t.deepEqual(column(await ask(rules, facts, 'odd(?n)'), 'n'), [1, 3, 5, 7, 9]);
  t.is((await ask(rules, facts, 'even(4)')).answers.length, 1);
  t.is((await ask(rules, facts, 'odd(4)')).answers.length, 0);
  t.deepEqual(column(await ask(rules, facts, 'succ(?n, ?m), even(?n), odd(?m), ?n > 5'), 'n'), [6, 8]);
});

test('evaluateQuery › stratified negation › over stored and over derived relations', async (t) => {
  const rules = `
    active_customer(?c) :- customer(?c), not churned(?c).
    reach(?x, ?y) :- edge(?x, ?y).
    reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).
    unreachable(?x) :- node(?x), not reach(root, ?x).
    lonely(?c) :- active_customer(?c), not unreachable(?c).
  `;
  const facts = [
    ...['acme', 'globex', 'initech'].map((c) => fact('customer', c)),
    fact('churned', 'globex'),
    ...['root', 'acme', 'globex', 'initech', 'x'].map((n) => fact('node', n)),
    fact('edge', 'root', 'acme'),
    fact('edge', 'acme', 'x'),
  ];
  t.deepEqual(column(await ask(rules, facts, 'active_customer(?c)'), 'c'), ['acme', 'initech']);
  t.deepEqual(column(await ask(rules, facts, 'unreachable(?n)'), 'n'), ['globex', 'initech', 'root']);
  t.deepEqual(column(await ask(rules, facts, 'lonely(?c)'), 'c'), ['acme']);
  t.deepEqual(column(await ask(rules, facts, 'node(?n), not unreachable(?n)'), 'n'), ['acme', 'x']);
  t.is((await ask(rules, facts, 'lonely(initech)')).answers.length, 0);
});

test('compileProgram › negative cycle › rejected before any evaluation', (t) => {
  t.throws(() => compileProgram(parseRules('p(?x) :- q(?x), not p(?x).')), { instanceOf: ValidationError, message: /not stratifiable/ });
});

test('evaluateQuery › comparisons › numbers numerically, strings by code units, mixed types apart', async (t) => {
  const facts = [fact('v', 30), fact('v', '30'), fact('v', 9), fact('v', 100), fact('v', 'apple'), fact('v', 'Zebra'), fact('v', true), fact('v', null)];
  const values = async (query: string): Promise<unknown[]> => column(await ask('', facts, query), 'x');
  t.deepEqual(await values('v(?x), ?x > 10'), [30, 100]);
  t.deepEqual(await values('v(?x), ?x <= 30'), [9, 30]);
  t.deepEqual(await values('v(?x), ?x < "b"'), ['30', 'Zebra', 'apple']);
  t.deepEqual(await values('v(?x), ?x = 30'), [30]);
  t.deepEqual(await values('v(?x), ?x = "30"'), ['30']);
  t.deepEqual(await values('v(?x), ?x != 30'), [null, true, 9, 100, '30', 'Zebra', 'apple']);
  t.deepEqual(await values('v(?x), ?x >= false'), []);
  t.deepEqual(await values('v(?x), ?x = null'), [null]);
  t.deepEqual(await values('v(?x), v(?y), ?x < ?y, ?y = 30'), [9]);
});

test('evaluateQuery › constants in rule heads › are answers like any other value', async (t) => {
  const rules = `
    discount(?c, 0.2) :- plan(?c, enterprise), seats(?c, ?n), ?n >= 100.
    discount(?c, 0.1) :- plan(?c, pro), seats(?c, ?n), ?n >= 50.
    tier(?c, "Gold tier") :- discount(?c, 0.2).
  `;
  const facts = [fact('plan', 'acme', 'enterprise'), fact('seats', 'acme', 120), fact('plan', 'tiny', 'enterprise'), fact('seats', 'tiny', 5), fact('plan', 'mid', 'pro'), fact('seats', 'mid', 60)];
  t.deepEqual((await ask(rules, facts, 'discount(?c, ?d)')).bindings, [{ c: 'acme', d: 0.2 }, { c: 'mid', d: 0.1 }]);
  t.deepEqual(column(await ask(rules, facts, 'discount(?c, 0.1)'), 'c'), ['mid']);
  t.deepEqual((await ask(rules, facts, 'tier(?c, ?t)')).bindings, [{ c: 'acme', t: 'Gold tier' }]);
  t.deepEqual((await ask(rules, facts, 'tier(acme, "Gold tier")')).bindings, [{}]);
});

test('evaluateQuery › n-ary relations › 0, 1, 3 and 5 arguments', async (t) => {
  const rules = `
    alarm() :- reading(?sensor, ?v), ?v > 90.
    hot(?sensor) :- reading(?sensor, ?v), ?v > 90.
    route(?from, ?to, ?cost) :- leg(?from, ?to, ?cost, ?mode, ?day), ?mode != closed.
    booking(?who, ?from, ?to, ?cost, ?day) :- wants(?who, ?from, ?to), leg(?from, ?to, ?cost, ?mode, ?day), ?mode != closed.
  `;
  const facts = [
    fact('reading', 's1', 20),
    fact('reading', 's2', 95),
    fact('leg', 'ams', 'ber', 80, 'train', 'mon'),
    fact('leg', 'ams', 'par', 60, 'closed', 'tue'),
    fact('leg', 'par', 'ber', 120, 'air', 'wed'),
    fact('wants', 'ann', 'ams', 'ber'),
    fact('wants', 'bob', 'ams', 'par'),
  ];
  t.deepEqual((await ask(rules, facts, 'alarm()')).bindings, [{}]);
  t.deepEqual((await ask(rules, [facts[0]!], 'alarm')).bindings, []);
  t.deepEqual(column(await ask(rules, facts, 'hot(?s)'), 's'), ['s2']);
  t.deepEqual((await ask(rules, facts, 'route(?f, ber, ?c)')).bindings, [{ f: 'ams', c: 80 }, { f: 'par', c: 120 }]);
  t.deepEqual((await ask(rules, facts, 'booking(?who, ?f, ?t, ?c, ?d)')).bindings, [{ who: 'ann', f: 'ams', t: 'ber', c: 80, d: 'mon' }]);
  t.deepEqual((await ask(rules, facts, 'booking(ann, ams, ber, 80, mon)')).bindings, [{}]);
});

test('evaluateQuery › classical negation › matches only facts stored as negated', async (t) => {
  const facts = [fact('likes', 'ann', 'tea'), negatedFact('likes', 'bob', 'spinach'), negatedFact('likes', 'ann', 'coffee'), fact('person', 'ann'), fact('person', 'bob')];
  const rules = `
    dislikes(?x, ?y) :- -likes(?x, ?y).
    undecided(?x, ?y) :- person(?x), food(?y), not likes(?x, ?y), not -likes(?x, ?y).
    food(tea) :- person(ann).
    food(spinach) :- person(ann).
  `;
  t.deepEqual((await ask(rules, facts, '-likes(?x, ?y)')).bindings, [{ x: 'ann', y: 'coffee' }, { x: 'bob', y: 'spinach' }]);
  t.deepEqual((await ask(rules, facts, 'likes(?x, ?y)')).bindings, [{ x: 'ann', y: 'tea' }]);
  t.deepEqual((await ask(rules, facts, 'dislikes(?x, ?y)')).bindings, [{ x: 'ann', y: 'coffee' }, { x: 'bob', y: 'spinach' }]);
  t.deepEqual((await ask(rules, facts, 'undecided(?x, ?y)')).bindings, [{ x: 'ann', y: 'spinach' }, { x: 'bob', y: 'tea' }]);
  const [answer] = (await ask(rules, facts, '-likes(bob, ?y)')).answers;
  t.like(answer?.matches[0], { predicate: 'likes', args: ['bob', 'spinach'], negated: true, derived: false, ref: { index: 1 } });
});

test('evaluateQuery › stored and derived › a relation is the union of both, recursion included', async (t) => {
  const facts = [...chain, fact('ancestor', 'd', 'e'), fact('ancestor', 'a', 'b')];
  const asked = await ask(ANCESTOR, facts, 'ancestor(a, ?y)');
  t.deepEqual(column(asked, 'y'), ['b', 'c', 'd', 'e']);
  const byValue = new Map(asked.answers.map((answer) => [answer.bindings['y'], answer.matches[0]!]));
  t.like(byValue.get('b'), { derived: false, ref: { index: 4 } });
  t.like(byValue.get('c'), { derived: true });
  t.is(byValue.get('c')?.ref, undefined);
  t.deepEqual(column(await ask(ANCESTOR, facts, 'ancestor(?x, e)'), 'x'), ['a', 'b', 'c', 'd']);
  t.is((await ask(ANCESTOR, facts, 'ancestor(?x, ?y)')).answers.length, 10);
});

test('evaluateQuery › conjunctive queries › atoms, not and comparisons; matches in query order', async (t) => {
  const facts = [fact('employee', 'ann', 'eng'), fact('employee', 'bob', 'ops'), fact('employee', 'cid', 'eng'), fact('dept', 'eng', 'berlin'), fact('dept', 'ops', 'paris'), fact('on_leave', 'cid')];
  const asked = await ask('', facts, 'employee(?p, ?d), dept(?d, ?city), not on_leave(?p), ?city != paris');
  t.deepEqual(asked.bindings, [{ p: 'ann', d: 'eng', city: 'berlin' }]);
  t.deepEqual(
    asked.answers[0]!.matches.map((match) => [match.predicate, match.args]),
    [
      ['employee', ['ann', 'eng']],
      ['dept', ['eng', 'berlin']],
    ],
  );
});

test('evaluateQuery › duplicates in the store › (a fact seen in two scopes) gives one answer', async (t) => {
  const facts = [fact('parent', 'a', 'b'), fact('parent', 'a', 'b'), fact('parent', 'b', 'c'), fact('parent', 'b', 'c')];
  t.deepEqual(column(await ask(ANCESTOR, facts, 'ancestor(a, ?y)'), 'y'), ['b', 'c']);
  t.is((await ask('', facts, 'parent(?x, ?y)')).answers.length, 2);
});

test('evaluateQuery › answer order › deterministic, whatever order the store returns facts in', async (t) => {
  const facts: MemoryFact[] = [];
  for (let i = 0; i < 40; i++) facts.push(fact('edge', i % 7, (i * 5) % 11), fact('edge', `n${i % 5}`, i % 3));
  const rules = 'reach(?x, ?y) :- edge(?x, ?y). reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';
  const forward = await ask(rules, facts, 'reach(?x, ?y)');
  const backward = await ask(rules, [...facts].reverse(), 'reach(?x, ?y)');
  t.deepEqual(forward.bindings, backward.bindings);
  t.deepEqual(column(await ask('', [fact('n', 10), fact('n', 'b'), fact('n', 2), fact('n', null), fact('n', 'a'), fact('n', true)], 'n(?x)'), 'x'), [null, true, 2, 10, 'a', 'b']);
});

test('evaluateQuery › options › limit keeps the first answers, bad limits and unsafe queries are 400s', async (t) => {
  const program = compileProgram(parseRules(ANCESTOR));
  const source = new MemorySource(cycle);
  const all = await evaluateQuery(program, source, parseQuery('ancestor(?x, ?y)'));
  t.deepEqual(await evaluateQuery(program, source, parseQuery('ancestor(?x, ?y)'), { limit: 4 }), all.slice(0, 4));
  await t.throwsAsync(evaluateQuery(program, source, parseQuery('ancestor(?x, ?y)'), { limit: 0 }), { instanceOf: ValidationError });
  await t.throwsAsync(evaluateQuery(program, source, parseQuery('ancestor(?x, ?y), not parent(?y, ?z)')), { instanceOf: ValidationError, message: /unsafe/ });
});

test('evaluateQuery › abort signal › stops the evaluation with the signal reason', async (t) => {
  const program = compileProgram(parseRules(ANCESTOR));
  const controller = new AbortController();
  controller.abort(new Error('client went away'));
  await t.throwsAsync(evaluateQuery(program, new MemorySource(cycle), parseQuery('ancestor(?x, ?y)'), { signal: controller.signal }), { message: 'client went away' });
});

test('evaluateQuery › odd names and values › __proto__ variables and string/number lookalikes stay apart', async (t) => {
  const facts = [fact('p', 1, '1'), fact('p', '1', 1)];
  const asked = await ask('q(?a, ?b) :- p(?a, ?b).', facts, 'q(?__proto__, 1)');
  t.is(asked.answers.length, 1);
  t.deepEqual(Object.entries(asked.answers[0]!.bindings), [['__proto__', '1']]);
});
