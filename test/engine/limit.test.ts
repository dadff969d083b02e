/**
 * Issue 12, "`limit` stops evaluation early where the plan allows it" (leading.ts): the first
 * `limit` answers are computed range by range of the leading variable's values, and every page
 * is the page a full evaluation gives (same answers, same matches, same order), with or without
 * a keyset position; shapes where that cannot hold evaluate in full; running out of budget on
 * the way falls back to the full evaluation, so no reply changes.
 */
import test from 'ava';
import { QueryBudgetExceededError } from '../../src/domain/errors.js';
import type { Term } from '../../src/domain/fact.js';
import type { Answer, EvaluateOptions } from '../../src/engine/index.js';
import { compileProgram, evaluateQueryWithStats, parseQuery, parseRules } from '../../src/engine/index.js';
import type { MemoryFact } from './memory-source.js';
import { MemorySource, fact, mulberry32 } from './memory-source.js';
import { Random, generateFacts, generateProgram, ruleText } from '../oracle/program.js';

const REACH = 'reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).';
const CLOSURE = compileProgram(parseRules(REACH));

/** A chain of n nodes: its closure has n(n-1)/2 pairs. */
const chain = (n: number): MemoryFact[] => Array.from({ length: n - 1 }, (_, i) => fact('edge', `n${i}`, `n${i + 1}`));

const ask = (facts: readonly MemoryFact[], text: string, options: EvaluateOptions = {}, program = CLOSURE) =>
  evaluateQueryWithStats(program, new MemorySource(facts), parseQuery(text), options);

const keyOf = (answer: Answer, variables: readonly string[]): Term[] => variables.map((name) => answer.bindings[name]!);

test('stop › reach(?x, ?y) with limit 6 on a 200-node chain › the first 6 answers of the full closure, from the first leading value', async (t) => {
  const facts = chain(200);
  const full = await ask(facts, 'reach(?x, ?y)');
  t.is(full.answers.length, (200 * 199) / 2);
  t.is(full.stats.leadingValues, 0);
  const limited = await ask(facts, 'reach(?x, ?y)', { limit: 6 });
  t.deepEqual(limited.answers, full.answers.slice(0, 6));
  t.is(limited.stats.leadingValues, 1);
  // n0 (the first value in term order) reaches 199 nodes: one root, not the closure.
  t.true(limited.stats.tuplesProduced * 10 < full.stats.tuplesProduced, `${limited.stats.tuplesProduced} vs ${full.stats.tuplesProduced}`);
});

test('stop › a tuple budget the full closure exceeds › limit 5 answers within it, the first page of an unbudgeted evaluation', async (t) => {
  const facts = chain(200);
  const budget = { maxTuples: 10_000 };
  const error = await t.throwsAsync(ask(facts, 'reach(?x, ?y)', { budget }), { instanceOf: QueryBudgetExceededError });
  t.deepEqual(error?.details, { limit: 'maxTuples', value: 10_000 });
  const page = await ask(facts, 'reach(?x, ?y)', { budget, limit: 5 });
  t.deepEqual(page.answers, (await ask(facts, 'reach(?x, ?y)')).answers.slice(0, 5));
  t.true(page.stats.tuplesProduced <= 10_000);
});

test('stop › keyset pages of a closure › each equals the same slice of the full answer', async (t) => {
  const facts = chain(120);
  const variables = ['x', 'y'];
  const full = (await ask(facts, 'reach(?x, ?y)', { variables })).answers;
  let after: Term[] | undefined;
  for (let page = 0; page < 8; page++) {
    const { answers, stats } = await ask(facts, 'reach(?x, ?y)', { variables, limit: 50, ...(after === undefined ? {} : { after }) });
    t.deepEqual(answers, full.slice(page * 50, page * 50 + 50), `page ${page}`);
    t.true(stats.leadingValues > 0, `page ${page} stopped early`);
    after = keyOf(answers.at(-1)!, variables);
  }
});

test('full › shapes that keep the full evaluation › no leading values, the same answers', async (t) => {
  const facts = chain(40);
  const cases: [string, EvaluateOptions][] = [
    ['reach(n3, ?y)', { limit: 2 }], // already goal-directed on x: one evaluation per y would cost more
    ['reach(?x, n39)', { limit: 2 }],
    ['reach(?x, ?y)', { limit: 2, withProof: true }], // which derivation is shown depends on the plan
    ['reach(?x, ?y)', { limit: 2, variables: ['x'] }], // a hidden ?y: which match is shown depends on the plan
    ['reach(?x, ?y)', { limit: 39 }], // a first range of every leading value is the whole evaluation
  ];
  for (const [text, options] of cases) {
    const { limit, ...unlimited } = options;
    const limited = await ask(facts, text, options);
    t.is(limited.stats.leadingValues, 0, text);
    const all = await ask(facts, text, unlimited);
    t.deepEqual(limited.answers.map((a) => a.bindings), all.answers.slice(0, limit).map((a) => a.bindings), text);
  }
});

test('full › a page larger than the stored facts the leading values come from › no store scan before the full evaluation', async (t) => {
  const facts = chain(40);
  const scans = async (options: EvaluateOptions) => {
    const source = new MemorySource(facts);
    const { answers } = await evaluateQueryWithStats(CLOSURE, source, parseQuery('reach(?x, ?y)'), options);
    return { answers, calls: source.calls.length };
  };
  const limited = await scans({ limit: 101 });
  const full = await scans({});
  t.is(limited.calls, full.calls);
  t.deepEqual(limited.answers, full.answers.slice(0, 101));
});

test('fallback › ranges that run out of tuples where the full evaluation does not › the full evaluation answers', async (t) => {
  // One answer, fewer than the limit: the ranges compute every root's reach (twice the tuples of the closure: goals and answers).
  const facts = chain(200);
  const query = 'reach(?x, ?y), ?y = n1';
  const full = await ask(facts, query);
  const ranged = await ask(facts, query, { limit: 5 });
  t.deepEqual(ranged.answers, full.answers);
  t.true(ranged.stats.leadingValues > 0);
  const budget = { maxTuples: Math.floor((full.stats.tuplesProduced + ranged.stats.tuplesProduced) / 2) };
  t.true(full.stats.tuplesProduced < budget.maxTuples && budget.maxTuples < ranged.stats.tuplesProduced, `${full.stats.tuplesProduced} < ${budget.maxTuples} < ${ranged.stats.tuplesProduced}`);
  const fallen = await ask(facts, query, { limit: 5, budget });
  t.deepEqual(fallen.answers, full.answers);
  t.is(fallen.stats.leadingValues, 0);
});

test('equivalence › random graphs, rules with recursion, negation, comparisons, head constants, mixed terms › every page equals the full slice', async (t) => {
  const program = compileProgram(
    parseRules(
      [
        REACH,
        'two(?x, ?z) :- edge(?x, ?y), edge(?y, ?z), ?x != ?z.',
        'oneway(?x, ?y) :- edge(?x, ?y), not edge(?y, ?x).',
        'hub(?x, big) :- edge(?x, ?y), edge(?x, ?z), ?y != ?z.',
        'hub(?x, small) :- edge(?x, ?y), not two(?x, ?y).',
        'same(?x, ?y) :- edge(?p, ?x), edge(?p, ?y).',
        'same(?x, ?y) :- edge(?p, ?x), same(?p, ?q), edge(?q, ?y).',
        'lonely(?x) :- node(?x), not reach(?x, ?x).',
      ].join('\n'),
    ),
  );
  const queries: [string, string[] | undefined][] = [
    ['reach(?x, ?y)', undefined],
    ['reach(?x, ?y)', ['y', 'x']],
    ['two(?x, ?z)', undefined],
    ['oneway(?x, ?y)', undefined],
    ['hub(?x, ?size)', undefined],
    ['hub(?x, ?size)', ['size', 'x']],
    ['same(?x, ?y)', undefined],
    ['lonely(?x)', undefined],
    ['edge(?x, ?y), reach(?y, ?z)', undefined],
    ['reach(?x, ?y), not edge(?x, ?y), ?y > "n5"', undefined],
    ['node(?x), not reach(?x, ?x), edge(?x, ?y)', undefined],
  ];
  let early = 0;
  for (const seed of [1, 2, 3]) {
    const random = mulberry32(seed);
    const nodes: Term[] = [...Array.from({ length: 36 }, (_, i) => `n${i}`), 7, 12.5, -3, true, null];
    const pick = (): Term => nodes[Math.floor(random() * nodes.length)]!;
    const facts: MemoryFact[] = nodes.map((node) => fact('node', node));
    for (let i = 0; i < 60; i++) facts.push(fact('edge', pick(), pick()));
    facts.push(fact('reach', 'n1', 'stored-only'), fact('reach', 'n2', 'n3')); // a derived relation's own stored facts
    const source = new MemorySource(facts);
    for (const [text, variables] of queries) {
      const base: EvaluateOptions = variables === undefined ? {} : { variables };
      const full = await evaluateQueryWithStats(program, source, parseQuery(text), base);
      const names = variables ?? Object.keys(full.answers[0]?.bindings ?? {});
      for (const limit of [1, 4, 25]) {
        let after: Term[] | undefined;
        for (let page = 0; page * limit < full.answers.length && page < 6; page++) {
          const label = `seed ${seed} ${text} ${JSON.stringify(variables)} limit ${limit} page ${page}`;
          const options: EvaluateOptions = { ...base, limit, ...(after === undefined ? {} : { after, variables: names }) };
          const { answers, stats } = await evaluateQueryWithStats(program, source, parseQuery(text), options);
          t.deepEqual(answers, full.answers.slice(page * limit, page * limit + limit), label);
          if (stats.leadingValues > 0) early += 1;
          if (answers.length === 0) break;
          after = keyOf(answers.at(-1)!, names);
        }
      }
    }
  }
  t.true(early > 100, `${early} pages stopped early`);
});

test('equivalence › the oracle’s random programs (25 seeds) › every limited page equals the full slice', async (t) => {
  let early = 0;
  let pages = 0;
  for (let seed = 1; seed <= 25; seed++) {
    const generated = generateProgram(seed);
    const program = compileProgram(parseRules(generated.rules.map(ruleText).join('\n')));
    const facts = generateFacts(new Random(seed * 7919), generated.preds, 3).map((f): MemoryFact => ({ predicate: f.pred, args: f.args, negated: f.negated }));
    const source = new MemorySource(facts);
    const texts: string[] = [];
    for (const pred of generated.preds) {
      if (pred.arity === 0) continue;
      const vars = Array.from({ length: pred.arity }, (_, i) => `?v${i}`);
      texts.push(`${pred.name}(${vars.join(', ')})`);
      if (pred.derived) texts.push(`e0(?w, ?v0), ${pred.name}(${vars.join(', ')})`, `${pred.name}(${vars.join(', ')}), not e0(?v0, ?v0)`);
    }
    for (const text of texts) {
      const full = await evaluateQueryWithStats(program, source, parseQuery(text));
      const names = Object.keys(full.answers[0]?.bindings ?? {});
      for (const limit of [1, 3]) {
        let after: Term[] | undefined;
        for (let page = 0; page * limit < full.answers.length && page < 4; page++) {
          const options: EvaluateOptions = { limit, ...(after === undefined ? {} : { after, variables: names }) };
          const { answers, stats } = await evaluateQueryWithStats(program, source, parseQuery(text), options);
          t.deepEqual(answers, full.answers.slice(page * limit, page * limit + limit), `seed ${seed} ${text} limit ${limit} page ${page}`);
          pages += 1;
          if (stats.leadingValues > 0) early += 1;
          after = keyOf(answers.at(-1)!, names);
        }
      }
    }
  }
  t.log(`${early} of ${pages} pages stopped early`);
  t.true(early * 3 > pages, `${early} of ${pages} pages stopped early`);
});
