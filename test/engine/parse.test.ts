import test from 'ava';
import { ValidationError } from '../../src/domain/errors.js';
import type { Rule } from '../../src/engine/index.js';
import { formatRule, parseJsonRule, parseQuery, parseRule, parseRules } from '../../src/engine/index.js';

const API_EXAMPLES = `ancestor(?x, ?y) :- parent(?x, ?y).
ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).
active_customer(?c) :- customer(?c), not churned(?c).
discount(?c, 0.2) :- plan(?c, enterprise), seats(?c, ?n), ?n >= 100.`;

test('parseRules › API.md examples › parse and print back identically', (t) => {
  const rules = parseRules(API_EXAMPLES);
  t.is(rules.length, 4);
  t.deepEqual(rules.map(formatRule), API_EXAMPLES.split('\n'));
  t.deepEqual(rules[3]!.head.args[1], { kind: 'const', value: 0.2 });
  t.deepEqual(rules[2]!.body[1], { kind: 'not', atom: { kind: 'atom', predicate: 'churned', args: [{ kind: 'var', name: 'c' }], negated: false } });
  t.deepEqual(rules[3]!.body[2], { kind: 'compare', op: '>=', left: { kind: 'var', name: 'n' }, right: { kind: 'const', value: 100 } });
});

test('parseRule › constants › identifiers are strings, quoted strings decode, numbers and keywords are typed', (t) => {
  const rule = parseRule('p(?x) :- q(?x, acme_corp, hypothesis-1, a.b.c, Alice, "two words", "esc\\"aped\\u00e9", 30, -2.5, 1e3, true, false, null).');
  const atom = rule.body[0]!;
  if (atom.kind !== 'atom') return t.fail();
  const values = atom.args.slice(1).map((term) => (term.kind === 'const' ? term.value : undefined));
  t.deepEqual(values, ['acme_corp', 'hypothesis-1', 'a.b.c', 'Alice', 'two words', 'esc"apedé', 30, -2.5, 1000, true, false, null]);
});

test('parseRules › comments and layout › %, # and // comments are skipped anywhere', (t) => {
  const rules = parseRules(`% a comment
    # another
    p(?x) :- // trailing
      q(?x), % between literals
      r(?x).   # after
  `);
  t.is(formatRule(rules[0]!), 'p(?x) :- q(?x), r(?x).');
});

test('parseRules › zero-ary atoms › p and p() are the same atom', (t) => {
  const [a, b] = parseRules('alarm :- hot. alarm() :- smoke().');
  t.deepEqual(a!.head, { predicate: 'alarm', args: [] });
  t.deepEqual(b!.head, { predicate: 'alarm', args: [] });
  t.is(formatRule(a!), 'alarm() :- hot().');
});

test('parseRule › negation › classical negation, negation as failure and both together', (t) => {
  const rule = parseRule('ok(?x) :- -bad(?x), not blocked(?x), not -allowed(?x).');
  t.is(formatRule(rule), 'ok(?x) :- -bad(?x), not blocked(?x), not -allowed(?x).');
  t.like(rule.body[0], { kind: 'atom', predicate: 'bad', negated: true });
  t.like(rule.body[2], { kind: 'not', atom: { predicate: 'allowed', negated: true } });
});

test('parseRule › comparisons › every operator, constants on either side', (t) => {
  const rule = parseRule('p(?x) :- q(?x, ?y), ?x = ?y, ?x != 1, 2 < ?x, ?x <= 3, "a" > ?y, ?y >= b, foo = ?x, -1 < ?x.');
  t.deepEqual(
    rule.body.slice(1).map((literal) => (literal.kind === 'compare' ? literal.op : null)),
    ['=', '!=', '<', '<=', '>', '>=', '=', '<'],
  );
  t.is(formatRule(rule), 'p(?x) :- q(?x, ?y), ?x = ?y, ?x != 1, 2 < ?x, ?x <= 3, a > ?y, ?y >= b, foo = ?x, -1 < ?x.');
});

test('formatRule › quoting › prints only safe lowercase identifiers bare', (t) => {
  const rule: Rule = {
    head: { predicate: 'my pred', args: [{ kind: 'const', value: 'true' }, { kind: 'const', value: 'Alice' }, { kind: 'const', value: '?x' }] },
    body: [{ kind: 'atom', predicate: 'q', args: [{ kind: 'const', value: 'a-b' }, { kind: 'const', value: 30 }, { kind: 'const', value: '30' }], negated: false }],
  };
  const text = formatRule(rule);
  t.is(text, '"my pred"("true", "Alice", "?x") :- q("a-b", 30, "30").');
  t.deepEqual(parseRule(text), rule);
});

test('parseRules › round trip › parse(format(rule)) is the same rule', (t) => {
  const texts = [
    'p(?x, "a b", -3, 1.5, null, false) :- q(?x), not r(?x, "x\\ny"), -s(?x), ?x != "z".',
    '"weird name"(?v) :- "other one"(?v, 0), ?v < 10.',
    'p() :- q().',
  ];
  for (const text of texts) {
    const rule = parseRule(text);
    t.deepEqual(parseRule(formatRule(rule)), rule, text);
  }
});

test('parseRules › syntax errors › name line, column, what was expected and the clause', (t) => {
  const error = t.throws(() => parseRules('ok(?x) :- p(?x).\nbad(?x) :- p(?x) q(?x).'), { instanceOf: ValidationError });
  t.is(error.message, "line 2, column 18: expected ',' or '.' but found identifier q");
  t.deepEqual(error.details, { problem: 'SYNTAX_ERROR', line: 2, column: 18, rule: 1 });
  t.throws(() => parseRules('p(?x) :- q(?x, 3abc).'), { message: /line 1, column 16: invalid number "3a"/ });
  t.throws(() => parseRules('p(?x) :- q(?).'), { message: /'\?' not followed by a variable name/ });
  t.throws(() => parseRules('p(?x) :- q(?x) ; r(?x).'), { message: /unexpected character ";"/ });
  t.throws(() => parseRules('p(?x) :- .'), { message: /expected a literal/ });
  t.throws(() => parseRules('p(?x) :- q(?x), ?x.'), { message: /expected a comparison operator/ });
});

test('parseQuery › conjunctive queries › optional ?- prefix and final period', (t) => {
  const query = parseQuery('?- parent(alice, ?y), not dead(?y), ?y != bob.');
  t.is(query.literals.length, 3);
  t.deepEqual(parseQuery('parent(alice, ?y), not dead(?y), ?y != bob'), query);
  t.throws(() => parseQuery('p(?x) q(?x)'), { message: /expected ',' or end of query/ });
});

test('parseJsonRule › POST /teach body › gives the canonical text of API.md', (t) => {
  const rule = parseJsonRule({
    head: { predicate: 'grandparent', args: ['?x', '?z'] },
    body: [
      { predicate: 'parent', args: ['?x', '?y'] },
      { predicate: 'parent', args: ['?y', '?z'] },
    ],
    scope: null,
  });
  t.is(formatRule(rule), 'grandparent(?x, ?z) :- parent(?x, ?y), parent(?y, ?z).');
});

test('parseJsonRule › literals › negated, not, comparisons and the ?? escape', (t) => {
  const rule = parseJsonRule({
    id: 'rule_1',
    head: { predicate: 'flag', args: ['?c', '??literal', 3, true, null] },
    body: [
      { predicate: 'customer', args: ['?c'] },
      { predicate: 'risky', args: ['?c'], negated: true },
      { predicate: 'churned', args: ['?c'], not: true },
      { op: '>=', left: '?c', right: 'm' },
    ],
  });
  t.is(rule.id, 'rule_1');
  t.is(formatRule(rule), 'flag(?c, "?literal", 3, true, null) :- customer(?c), -risky(?c), not churned(?c), ?c >= m.');
});

test('parseJsonRule › wrong shapes › ValidationError naming the path, never a TypeError', (t) => {
  const bad: [unknown, RegExp][] = [
    [null, /^rule: expected an object/],
    [[], /^rule: expected an object/],
    [{ body: [] }, /^rule\.head: expected an object/],
    [{ head: { predicate: '', args: [] }, body: [] }, /^rule\.head\.predicate: expected a non-empty predicate name/],
    [{ head: { predicate: 'p', args: 'x' }, body: [] }, /^rule\.head\.args: expected an array/],
    [{ head: { predicate: 'p', args: [{}] }, body: [] }, /^rule\.head\.args\[0\]: expected a string, finite number, boolean or null/],
    [{ head: { predicate: 'p', args: ['?'] }, body: [] }, /^rule\.head\.args\[0\]: expected a variable name/],
    [{ head: { predicate: 'p', args: ['?a b'] }, body: [] }, /^rule\.head\.args\[0\]: expected a variable name/],
    [{ head: { predicate: 'p', args: [] }, body: {} }, /^rule\.body: expected an array/],
    [{ head: { predicate: 'p', args: [] }, body: [5] }, /^rule\.body\[0\]: expected an object/],
    [{ head: { predicate: 'p', args: [] }, body: [{ op: '~', left: 1, right: 2 }] }, /^rule\.body\[0\]\.op: expected one of/],
    [{ head: { predicate: 'p', args: [] }, body: [{ predicate: 'q', args: [], negated: 'yes' }] }, /^rule\.body\[0\]\.negated: expected a boolean/],
    [{ head: { predicate: 'p', args: [], negated: true }, body: [] }, /^rule\.head\.negated: expected false/],
    [{ head: { predicate: 'p', args: [] }, body: [], id: 7 }, /^rule\.id: expected a string/],
  ];
  for (const [input, message] of bad) {
    const error = t.throws(() => parseJsonRule(input), { instanceOf: ValidationError, message }, JSON.stringify(input));
    t.is(error?.details?.['problem'], 'INVALID_SHAPE');
  }
});
