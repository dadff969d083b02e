import type { Context, Next } from 'koa';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics: request latency by method, matched route and status, plus the process defaults. */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.duration = new Histogram({
      name: 'vesper_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }

  /** Outermost middleware, so error replies are counted with their final status. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const stop = this.duration.startTimer();
      try {
        await next();
      } finally {
        const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        stop({ method: ctx.method, route: String(route), status: String(ctx.status) });
      }
    };
  }
}
