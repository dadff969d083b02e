import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Context } from 'koa';
import { TenantNotFoundError, ValidationError } from '../../domain/errors.js';
import { parseName } from '../../domain/names.js';
import type { Services } from '../../service/services.js';
import type { RawHandlers } from '../router.js';
import { ExportQuery, importTenant as importRow } from '../../operations/streams.js';

/** Characters of export lines written to the response at once. */
const EXPORT_CHUNK = 64 * 1024;

function tenantOf(ctx: Context): { db: string; name: string } {
  const params = (ctx as Context & { params: Record<string, string> }).params;
  return { db: parseName('database', params.db), name: parseName('tenant', params.name) };
}

/** Export (JSON lines streamed with the socket's backpressure) and import (a JSON-lines body read line by line). */
export function portabilityHandlers(services: Services): RawHandlers {
  return {
    exportTenant: async (ctx) => {
      const { db, name } = tenantOf(ctx);
      const query = ExportQuery.safeParse(ctx.query);
      if (!query.success) throw new ValidationError(`invalid query: ${query.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, { issues: query.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })) });
      // Refused before the first byte, so that these are error envelopes, not a cut-off stream.
      if (!(await services.tenants.list(db)).includes(name)) throw new TenantNotFoundError(name, db);
      const out = new PassThrough();
      const send = (chunk: string) =>
        out.write(chunk)
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              const closed = () => reject(new Error('the client went away'));
              out.once('close', closed);
              out.once('drain', () => {
                out.off('close', closed);
                resolve();
              });
            });
      // Lines go out in chunks of about 64 KiB, not one by one: a million lines would be a million
      // HTTP chunks, and a client reading through web streams (fetch) slows down with every chunk queued.
      let pending = '';
      const write = (line: string) => {
        pending += line;
        if (pending.length < EXPORT_CHUNK) return Promise.resolve();
        const chunk = pending;
        pending = '';
        return send(chunk);
      };
      ctx.type = 'application/x-ndjson';
      ctx.set('Content-Disposition', `attachment; filename="${db}-${name}.jsonl"`);
      ctx.body = out;
      services.portability.export(db, name, write, { sessions: query.data.sessions !== 'false' }).then(
        () => out.end(pending),
        (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
    importTenant: async (ctx) => {
      const { db, name } = tenantOf(ctx);
      // The reader is made when the import starts reading: lines a reader emitted before anyone
      // iterated would be lost (the body stays paused in the socket until then).
      let reader: ReturnType<typeof createInterface> | null = null;
      const lines: AsyncIterable<string> = {
        [Symbol.asyncIterator]: () => {
          reader = createInterface({ input: ctx.req, crlfDelay: Number.POSITIVE_INFINITY });
          return reader[Symbol.asyncIterator]();
        },
      };
      try {
        const imported = await services.portability.import(db, name, lines);
        ctx.status = importRow.status ?? 200; // the status its row documents
        ctx.body = { database: db, tenant: name, imported };
      } finally {
        (reader as ReturnType<typeof createInterface> | null)?.close();
        if (!ctx.req.complete) ctx.req.resume(); // a refused import: discard the rest of the body
      }
    },
  };
}
