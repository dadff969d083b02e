/**
 * The evaluation budget (issue 12, "no tenant stalls the others"): limits stop an evaluation
 * with QUERY_BUDGET_EXCEEDED naming the limit, a signal cancels it, and a long evaluation lets
 * the event loop run other work while it computes.
 */
import test from 'ava';
import { QueryBudgetExceededError } from '../../src/domain/errors.js';
import { compileProgram, evaluateQueryWithStats, parseQuery, parseRules } from '../../src/engine/index.js';
import type { MemoryFact } from './memory-source.js';
import { MemorySource, fact } from './memory-source.js';

const REACH = compileProgram(parseRules('reach(?x, ?y) :- edge(?x, ?y).\nreach(?x, ?z) :- edge(?x, ?y), reach(?y, ?z).'));

/** A chain of n nodes: its closure has n(n-1)/2 pairs. */
function chain(n: number): MemoryFact[] {
  return Array.from({ length: n - 1 }, (_, i) => fact('edge', `n${i}`, `n${i + 1}`));
}

const closure = (facts: readonly MemoryFact[], options: Parameters<typeof evaluateQueryWithStats>[3]) =>
  evaluateQueryWithStats(REACH, new MemorySource(facts), parseQuery('reach(?x, ?y)'), options);

test('budget › maxTuples › a closure past it stops with the limit in details', async (t) => {
  const error = await t.throwsAsync(closure(chain(200), { budget: { maxTuples: 1000 } }), { instanceOf: QueryBudgetExceededError });
  t.is(error?.code, 'QUERY_BUDGET_EXCEEDED');
  t.deepEqual(error?.details, { limit: 'maxTuples', value: 1000 });
  // Within the budget: the whole answer.
  t.is((await closure(chain(40), { budget: { maxTuples: 10_000 } })).answers.length, 780);
});

test('budget › maxRows › reading more stored facts than allowed stops', async (t) => {
  const error = await t.throwsAsync(closure(chain(3000), { budget: { maxRows: 2000 } }), { instanceOf: QueryBudgetExceededError });
  t.deepEqual(error?.details, { limit: 'maxRows', value: 2000 });
});

test('budget › timeMs › an evaluation past its wall time stops', async (t) => {
  const error = await t.throwsAsync(closure(chain(400), { budget: { timeMs: 0 } }), { instanceOf: QueryBudgetExceededError });
  t.deepEqual(error?.details, { limit: 'timeMs', value: 0 });
});

test('cancel › an aborted signal stops the evaluation with its reason', async (t) => {
  const controller = new AbortController();
  const reason = new Error('client went away');
  const running = closure(chain(600), { signal: controller.signal });
  setImmediate(() => controller.abort(reason));
  t.is(await t.throwsAsync(running), reason);
});

test('pacing › a long closure lets other work run while it computes, and still answers completely', async (t) => {
  // A memory source never reaches the event loop by itself: only pacing lets the ticker run.
  let ticks = 0;
  let running = true;
  const tick = (): void => {
    ticks += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await closure(chain(600), {});
  running = false;
  t.is(result.answers.length, (600 * 599) / 2);
  t.true(result.stats.yields > 0, `${result.stats.yields} yields`);
  t.true(ticks >= result.stats.yields, `${ticks} ticks`);
});
