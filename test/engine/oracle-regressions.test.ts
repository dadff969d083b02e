/**
 * Regressions found by the SWI-Prolog differential run (issue 17), each the reproduction.
 */
import test from 'ava';
import { ask } from './ask.js';
import { fact } from './memory-source.js';

const REPEATED = `
  p(?x, ?u, ?w) :- e(?x, ?u, ?w).
  p(?x, ?z, ?z) :- f(?x, ?y), p(?y, ?z, ?z).
`;
const facts = [fact('f', 'a', 'b'), fact('e', 'b', 1, 2)];

test('class 1 › a variable repeated across free positions of the tail call › no answer without the equality', async (t) => {
  t.deepEqual((await ask(REPEATED, facts, 'p(?x, ?u, ?w)')).bindings, [{ x: 'b', u: 1, w: 2 }]);
  t.deepEqual((await ask(REPEATED, facts, 'p(a, ?u, ?w)')).bindings, []);
  t.deepEqual((await ask(REPEATED, facts, 'p(b, ?u, ?w)')).bindings, [{ u: 1, w: 2 }]);
  t.deepEqual((await ask(REPEATED, facts, 'f(?x, b), p(?x, ?u, ?w)')).bindings, []);
  const viaRule = `${REPEATED} q(?u, ?w) :- start(?x), p(?x, ?u, ?w).`;
  t.deepEqual((await ask(viaRule, [...facts, fact('start', 'a')], 'q(?u, ?w)')).bindings, []);
  const equal = [fact('f', 'a', 'b'), fact('e', 'b', 3, 3)];
  t.deepEqual((await ask(REPEATED, equal, 'p(a, ?u, ?w)')).bindings, [{ u: 3, w: 3 }]);
});

test('class 1 › the left-linear mirror › no answer without the equality', async (t) => {
  const rules = `
    p(?u, ?w, ?x) :- e(?u, ?w, ?x).
    p(?z, ?z, ?x) :- p(?z, ?z, ?y), f(?y, ?x).
  `;
  const mirror = [fact('f', 'b', 'a'), fact('e', 1, 2, 'b')];
  t.deepEqual((await ask(rules, mirror, 'p(?u, ?w, a)')).bindings, []);
  t.deepEqual((await ask(rules, mirror, 'p(?u, ?w, ?x)')).bindings, [{ u: 1, w: 2, x: 'b' }]);
  const equal = [fact('f', 'b', 'a'), fact('e', 4, 4, 'b')];
  t.deepEqual((await ask(rules, equal, 'p(?u, ?w, a)')).bindings, [{ u: 4, w: 4 }]);
});

test('class 2 › strings compare by code point › U+FF5A < U+1F600', async (t) => {
  const rules = 'lt(?x, ?y) :- s(?x), s(?y), ?x < ?y.';
  const asked = await ask(rules, [fact('s', '😀'), fact('s', 'ｚ')], 'lt(?x, ?y)');
  t.deepEqual(asked.bindings, [{ x: 'ｚ', y: '😀' }]);
  // Answer order is code-point order too.
  const ordered = await ask('t(?x) :- s(?x).', [fact('s', '😀'), fact('s', 'ｚ'), fact('s', 'a')], 't(?x)');
  t.deepEqual(ordered.bindings, [{ x: 'a' }, { x: 'ｚ' }, { x: '😀' }]);
});

test('answer sets › hidden variables › never multiply answers, and the first in order stands for them', async (t) => {
  const facts = [fact('edge', 'a', 'b'), fact('edge', 'a', 'c'), fact('edge', 'e', 'b')];
  const asked = await ask('', facts, 'edge(?x, ?h)', { variables: ['x'] });
  t.deepEqual(asked.bindings, [{ x: 'a' }, { x: 'e' }]);
  t.deepEqual(asked.answers[0]!.matches[0]!.args, ['a', 'b']);
  t.is((await ask('', facts, 'edge(?x, ?h)', { variables: ['x'], limit: 1 })).answers.length, 1);
  // Without `variables`, every variable is an answer variable.
  t.is((await ask('', facts, 'edge(?x, ?h)')).answers.length, 3);
});
