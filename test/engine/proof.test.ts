import test from 'ava';
import type { Proof } from '../../src/engine/index.js';
import { compileProgram, evaluateQuery, parseQuery, parseRules } from '../../src/engine/index.js';
import { ask, checkProof } from './ask.js';
import { MemorySource, fact } from './memory-source.js';

const ANCESTOR = `
  ancestor(?x, ?y) :- parent(?x, ?y).
  ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).
`;

test('withProof › a non-recursive rule › rule text, id, fact, substitution and stored premises', async (t) => {
  const rules = parseRules('grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).').map((rule) => ({ ...rule, id: 'rule_gp' }));
  const facts = [fact('parent', 'ann', 'bob'), fact('parent', 'bob', 'cid')];
  const [answer] = await evaluateQuery(compileProgram(rules), new MemorySource(facts), parseQuery('grandparent(ann, ?who)'), { withProof: true });
  t.deepEqual(answer?.matches[0]?.proof, {
    rule: 'grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).',
    ruleId: 'rule_gp',
    fact: { predicate: 'grandparent', args: ['ann', 'cid'] },
    substitution: { x: 'ann', z: 'cid', y: 'bob' },
    premises: [
      { kind: 'stored', predicate: 'parent', args: ['ann', 'bob'], negated: false, ref: { index: 0 } },
      { kind: 'stored', predicate: 'parent', args: ['bob', 'cid'], negated: false, ref: { index: 1 } },
    ],
  });
});

test('withProof › right-linear recursion asked with a bound argument › the full chain of rule applications', async (t) => {
  const facts = [fact('parent', 'a', 'b'), fact('parent', 'b', 'c'), fact('parent', 'c', 'd')];
  const asked = await ask(ANCESTOR, facts, 'ancestor(a, d)', { withProof: true });
  const proof = asked.answers[0]!.matches[0]!.proof!;
  t.is(checkProof(t, proof, facts), 3);
  t.is(proof.rule, 'ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).');
  t.deepEqual(proof.substitution, { x: 'a', z: 'd', y: 'b' });
  const inner = proof.premises[1];
  t.is(inner?.kind, 'derived');
  if (inner?.kind === 'derived') t.deepEqual(inner.proof.fact, { predicate: 'ancestor', args: ['b', 'd'] });
});

test('withProof › every binding pattern and a cycle › proofs are valid and finite', async (t) => {
  const facts = [fact('parent', 'a', 'b'), fact('parent', 'b', 'c'), fact('parent', 'c', 'a'), fact('parent', 'c', 'e')];
  for (const query of ['ancestor(a, ?y)', 'ancestor(?x, a)', 'ancestor(?x, ?y)', 'ancestor(?x, ?x)']) {
    const asked = await ask(ANCESTOR, facts, query, { withProof: true });
    t.true(asked.answers.length > 0, query);
    for (const answer of asked.answers) t.true(checkProof(t, answer.matches[0]!.proof!, facts) <= 4, query);
  }
});

test('withProof › mutual recursion, negation, comparisons › every premise kind appears', async (t) => {
  const rules = `
    even(?x) :- zero(?x).
    even(?y) :- succ(?x, ?y), odd(?x).
    odd(?y) :- succ(?x, ?y), even(?x).
    small_even(?x) :- even(?x), not excluded(?x), ?x < 5.
  `;
  const facts = [fact('zero', 0), fact('succ', 0, 1), fact('succ', 1, 2), fact('succ', 2, 3), fact('succ', 3, 4), fact('excluded', 0)];
  const asked = await ask(rules, facts, 'small_even(?x)', { withProof: true });
  t.deepEqual(asked.bindings, [{ x: 2 }, { x: 4 }]);
  const proof = asked.answers[1]!.matches[0]!.proof!;
  t.is(checkProof(t, proof, facts), 6);
  t.deepEqual(
    proof.premises.map((premise) => premise.kind),
    ['derived', 'not', 'compare'],
  );
  t.deepEqual(proof.premises[1], { kind: 'not', predicate: 'excluded', args: [4], negated: false });
  t.deepEqual(proof.premises[2], { kind: 'compare', text: '4 < 5' });
});

test('withProof › a stored fact of a derived relation › is a stored premise, not a derivation', async (t) => {
  const facts = [fact('parent', 'a', 'b'), fact('ancestor', 'b', 'z')];
  const asked = await ask(ANCESTOR, facts, 'ancestor(a, ?y)', { withProof: true });
  const byValue = new Map(asked.answers.map((answer) => [answer.bindings['y'], answer.matches[0]!]));
  const viaStored = byValue.get('z')!;
  t.true(viaStored.derived);
  t.is(checkProof(t, viaStored.proof!, facts), 1);
  t.like(viaStored.proof!.premises[1], { kind: 'stored', predicate: 'ancestor', args: ['b', 'z'] });
  const stored = (await ask(ANCESTOR, facts, 'ancestor(b, z)', { withProof: true })).answers[0]!.matches[0]!;
  t.like(stored, { derived: false, ref: { index: 1 } });
  t.is(stored.proof, undefined);
});

test('withProof › off › no proof on matches', async (t) => {
  const asked = await ask(ANCESTOR, [fact('parent', 'a', 'b'), fact('parent', 'b', 'c')], 'ancestor(a, c)');
  t.like(asked.answers[0]!.matches[0], { derived: true });
  t.is(asked.answers[0]!.matches[0]!.proof, undefined);
});

test('withProof › a long chain › deep proofs are built without exhausting the stack', async (t) => {
  const facts = Array.from({ length: 3000 }, (_, i) => fact('parent', i, i + 1));
  const asked = await ask(ANCESTOR, facts, 'ancestor(0, 3000)', { withProof: true });
  let depth = 0;
  for (let proof: Proof | undefined = asked.answers[0]!.matches[0]!.proof; proof !== undefined; depth++) {
    const last = proof.premises[proof.premises.length - 1];
    proof = last?.kind === 'derived' ? last.proof : undefined;
  }
  t.is(depth, 3000);
});
