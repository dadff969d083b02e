// The bounded form of the OpenAPI fuzzer (issue 12): every operation of the server's own
// document, seeded; `npm run torture -- fuzz` is the long form.
import test from 'ava';
import { fuzz } from './runner.js';
import { startFuzzServer } from './server.js';

/**
 * The CI figure; a slow machine runs fewer, each operation getting an equal share of the
 * budget, but never fewer than MIN_CASES_PER_ROUTE: those run whatever the time (under load the
 * test takes longer instead of failing for want of cases; the ava timeout below allows for it).
 */
const CASES_PER_ROUTE = 300;
const BUDGET_MS = 20_000;
/** Below this, the run proves too little: a failure, not a pass. */
const MIN_CASES_PER_ROUTE = 20;
const SEED = 20261126;

test('fuzz › every operation of the OpenAPI document: no 5xx, every error the envelope, the server stays up', async (t) => {
  t.timeout(150_000);
  const { server, document } = await startFuzzServer();
  try {
    const routes = Object.values<Record<string, unknown>>(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const summary = await fuzz({ url: server.url, document, seed: SEED, casesPerRoute: CASES_PER_ROUTE, routeBudgetMs: BUDGET_MS / routes, minCasesPerRoute: MIN_CASES_PER_ROUTE, concurrency: 8 });
    const fewest = Math.min(...Object.values(summary.perRoute));
    t.log(`${summary.cases} cases over ${summary.routes} operations (fewest ${fewest} per operation, seed ${SEED}); statuses ${JSON.stringify(summary.statuses)}; slowest ${summary.slowest.ms} ms (${summary.slowest.route})`);
    t.is(summary.routes, routes);
    t.deepEqual(summary.failures.slice(0, 5), [], `${summary.failures.length} failing replies`);
    t.true(fewest >= MIN_CASES_PER_ROUTE, `only ${fewest} cases for one operation in the budget`);
  } finally {
    await server.close();
  }
});
