import test from 'ava';
import { ValidationError } from '../../src/domain/errors.js';
import type { Rule } from '../../src/engine/index.js';
import { compileProgram, isDerived, parseJsonRule, parseRules, relationsOf, validateQuery, parseQuery } from '../../src/engine/index.js';

test('compileProgram › a rule with an id › names it in the message and details', (t) => {
  const rule = { ...parseRules('p(?x, ?y) :- q(?x).')[0]!, id: 'rule_42' };
  const error = t.throws(() => compileProgram([rule]), { instanceOf: ValidationError });
  t.is(error.message, 'rule rule_42 `p(?x, ?y) :- q(?x).` is unsafe: head variable ?y does not occur in a positive body atom');
  t.deepEqual(error.details, { rule: 'p(?x, ?y) :- q(?x).', ruleId: 'rule_42', problem: 'UNSAFE_HEAD_VARIABLE' });
});

test('compileProgram › safety › classically negated atoms bind, head constants need nothing', (t) => {
  t.notThrows(() => compileProgram(parseRules('suspicious(?x, flagged) :- -trusted(?x), not cleared(?x), ?x != admin.')));
  t.notThrows(() => compileProgram(parseRules('ready() :- not blocked().')));
  const error = t.throws(() => compileProgram(parseRules('p(?x) :- not q(?x).')), { instanceOf: ValidationError });
  t.is(error.details?.['problem'], 'UNSAFE_NEGATED_VARIABLE');
});

test('compileProgram › arity › p/1 and p/2 are different relations, both allowed', (t) => {
  const program = compileProgram(parseRules('p(?x) :- q(?x). p(?x, ?y) :- q(?x), r(?y).'));
  t.true(isDerived(program, 'p', 1));
  t.true(isDerived(program, 'p', 2));
  t.false(isDerived(program, 'p', 3));
  t.false(isDerived(program, 'q', 1));
});

test('compileProgram › negation inside a cycle › rejected even when the cycle is long', (t) => {
  const rules = parseRules(`
    a(?x) :- base(?x), b(?x).
    b(?x) :- base(?x), c(?x).
    c(?x) :- base(?x), not a(?x).
  `);
  const error = t.throws(() => compileProgram(rules), { instanceOf: ValidationError });
  t.is(error.details?.['problem'], 'NOT_STRATIFIABLE');
  t.is(error.details?.['rule'], 'c(?x) :- base(?x), not a(?x).');
});

test('compileProgram › stratification › negated relations come in earlier strata', (t) => {
  const program = compileProgram(
    parseRules(`
      reach(?x, ?y) :- edge(?x, ?y).
      reach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).
      unreachable(?x, ?y) :- node(?x), node(?y), not reach(?x, ?y).
      isolated(?x) :- node(?x), not connected(?x).
      connected(?x) :- reach(?x, ?y).
      even(?x) :- zero(?x).
      even(?y) :- succ(?x, ?y), odd(?x).
      odd(?y) :- succ(?x, ?y), even(?x).
    `),
  );
  t.is(program.strata.length, 2);
  t.deepEqual([...program.strata[0]!].sort(), ['connected/1', 'even/1', 'odd/1', 'reach/2']);
  t.deepEqual([...program.strata[1]!].sort(), ['isolated/1', 'unreachable/2']);
  const order = program.components.map((component) => component.relations.join('+'));
  t.true(order.indexOf('reach/2') < order.indexOf('connected/1'));
  t.true(order.indexOf('connected/1') < order.indexOf('isolated/1'));
  t.true(order.includes('even/1+odd/1') || order.includes('odd/1+even/1'));
});

test('relationsOf › lists derived and stored-only relations with their stratum', (t) => {
  const program = compileProgram(parseRules('active(?c) :- customer(?c), not churned(?c). vip(?c) :- active(?c), -downgraded(?c).'));
  t.deepEqual(relationsOf(program), [
    { predicate: 'active', arity: 1, derived: true, stratum: 0 },
    { predicate: 'churned', arity: 1, derived: false, stratum: 0 },
    { predicate: 'customer', arity: 1, derived: false, stratum: 0 },
    { predicate: 'downgraded', arity: 1, derived: false, stratum: 0 },
    { predicate: 'vip', arity: 1, derived: true, stratum: 0 },
  ]);
});

test('compileProgram › rules from JSON › validated like text rules', (t) => {
  const rule: Rule = parseJsonRule({ head: { predicate: 'p', args: ['?x'] }, body: [{ predicate: 'q', args: ['?y'] }] });
  t.throws(() => compileProgram([rule]), { message: /head variable \?x does not occur/ });
});

test('validateQuery › unsafe or empty queries › ValidationError naming the query', (t) => {
  t.throws(() => validateQuery({ literals: [] }), { message: 'query `?- .` has no literals' });
  const error = t.throws(() => validateQuery(parseQuery('customer(?c), not owes(?c, ?amount)')), { instanceOf: ValidationError });
  t.is(error.message, 'query `?- customer(?c), not owes(?c, ?amount).` is unsafe: variable ?amount in `not owes(?c, ?amount)` does not occur in a positive body atom');
  t.deepEqual(error.details, { query: '?- customer(?c), not owes(?c, ?amount).', problem: 'UNSAFE_NEGATED_VARIABLE' });
  t.throws(() => validateQuery(parseQuery('p(?x), ?y > 3')), { message: /variable \?y in `\?y > 3`/ });
});
