import type { ServerInfo } from '../../operations/index.js';
import type { HttpMetrics } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import type { RawHandlers } from '../router.js';

export type HealthInfo = ServerInfo;

/** The raw rows about the server itself: Prometheus text, and the OpenAPI document (built once, its `servers` per request). */
export function serverHandlers(info: ServerInfo, metrics: HttpMetrics): RawHandlers {
  let document: Record<string, unknown> | null = null;
  return {
    metrics: async (ctx) => {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    },
    openapi: (ctx) => {
      document ??= openApiDocument(info.version, '');
      ctx.body = { ...document, servers: [{ url: `${ctx.protocol}://${ctx.host}`, description: 'this server' }] };
    },
  };
}
