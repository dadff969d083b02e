import { fuzz } from '../fuzz/runner.js';
import { startFuzzServer } from '../fuzz/server.js';

/** The torture figure per operation of the OpenAPI document. */
const CASES_PER_ROUTE = 20_000;
const SEED = 20261126;

export interface FuzzPartResult {
  readonly ok: boolean;
  readonly summary: Record<string, unknown>;
}

/**
 * The OpenAPI fuzzer's long form: 20,000 cases per operation, or, when `seconds` is given
 * (TORTURE_SECONDS), an equal share of that time per operation. Failing replies are printed.
 */
export async function fuzzPart(seconds: number | null, seed = SEED): Promise<FuzzPartResult> {
  const { server, document } = await startFuzzServer();
  try {
    const routes = Object.values<Record<string, unknown>>(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const budget = seconds === null ? {} : { routeBudgetMs: (seconds * 1000) / routes };
    const started = Date.now();
    const onRoute = (route: string, cases: number, failures: number) =>
      console.log(JSON.stringify({ progress: route, cases, failures, seconds: Math.round((Date.now() - started) / 1000) }));
    const summary = await fuzz({ url: server.url, document, seed, casesPerRoute: CASES_PER_ROUTE, concurrency: 8, onRoute, ...budget });
    for (const failure of summary.failures.slice(0, 20)) console.error(JSON.stringify(failure));
    for (const reply of summary.slow) console.error(JSON.stringify({ slow: reply }).slice(0, 800));
    const perRoute = Object.values(summary.perRoute);
    return {
      ok: summary.failures.length === 0 && summary.routes === routes && Math.min(...perRoute) > 0,
      summary: {
        seed,
        operations: summary.routes,
        cases: summary.cases,
        fewestPerOperation: Math.min(...perRoute),
        mostPerOperation: Math.max(...perRoute),
        failures: summary.failures.length,
        status5xx: Object.entries(summary.statuses).filter(([status]) => Number(status) >= 500).reduce((n, [, count]) => n + count, 0),
        statuses: summary.statuses,
        slowestMs: summary.slowest.ms,
        loopDelayMaxMs: summary.loopDelayMaxMs,
        slowestOperation: summary.slowest.route,
        retriedResets: summary.retriedResets,
      },
    };
  } finally {
    await server.close();
  }
}
