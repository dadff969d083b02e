import type { IncomingMessage } from 'node:http';
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import { type ErrorEnvelope, envelope } from '../contract/envelope.js';
import { ValidationError, VesperError, retryAfterOf } from '../domain/errors.js';
import { storageFailureOf } from '../store/storage-errors.js';

/** The one table from error code to HTTP status. */
export const HTTP_STATUS: Record<ErrorEnvelope['code'], number> = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TENANT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 403,
  TOO_MANY_OPEN_DATABASES: 503,
  STORAGE_FULL: 507,
  STORAGE_UNAVAILABLE: 503,
  QUERY_BUDGET_EXCEEDED: 422,
  // nginx's "client closed request": the client is gone and never reads it.
  REQUEST_CANCELLED: 499,
  FACT_NOT_FOUND: 404,
  TRANSACTION_NOT_FOUND: 404,
  TRANSACTION_CONFLICT: 409,
  TOO_MANY_TRANSACTIONS: 429,
  INTERNAL_ERROR: 500,
  DATA_CORRUPTED: 500,
};

/** Errors thrown by koa and its body parser carry an HTTP status; map the ones a client can cause. */
function fromHttpError(error: { status: number; message: string; type?: string }): ErrorEnvelope {
  if (error.status === 413) return envelope('PAYLOAD_TOO_LARGE', 'request body is too large');
  // Every Content-Type is read as JSON, so a 415 is about the Content-Encoding or charset: say which.
  if (error.status === 415) return envelope('VALIDATION_ERROR', `unsupported request body: ${error.message}`);
  if (error.type === 'entity.parse.failed' || /JSON/i.test(error.message)) {
    return envelope('VALIDATION_ERROR', 'request body is not valid JSON');
  }
  return envelope('VALIDATION_ERROR', error.message || 'bad request');
}

function isClientHttpError(error: unknown): error is { status: number; message: string; type?: string } {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Every failure leaves as the JSON envelope with its mapped status (called by the envelope
 * middleware, envelope.ts, around everything else).
 */
export function answerFailure(ctx: Context, thrown: unknown, logger: Logger): void {
  // A storage failure (lost PostgreSQL connection, full disk) is a typed 503/507 from wherever it was thrown.
  const error = thrown instanceof VesperError ? thrown : (storageFailureOf(thrown) ?? thrown);
  let body: ErrorEnvelope;
  if (error instanceof VesperError) {
    body = envelope(error.code, error.message, error.details);
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== null) ctx.set('Retry-After', String(retryAfter));
  } else if (isClientHttpError(error)) {
    body = fromHttpError(error);
  } else {
    body = envelope('INTERNAL_ERROR', 'internal error', { requestId: ctx.state.requestId ?? null });
  }
  if (body.code === 'INTERNAL_ERROR' || body.code === 'DATA_CORRUPTED') logger.error({ err: error, requestId: ctx.state.requestId }, 'request failed');
  // Said so MCP clients ask for a key instead of starting an OAuth flow.
  if (body.code === 'UNAUTHORIZED') ctx.set('WWW-Authenticate', 'Bearer realm="vesper"');
  // A request refused before its body was read (authentication runs first) keeps its connection: Node
  // discards the rest of the body unparsed, and closing instead could reset the socket before the client reads the reply.
  ctx.status = HTTP_STATUS[body.code];
  ctx.body = body;
}

/**
 * Unmatched routes and methods answer with the envelope too. Registered before the router so it
 * runs after router.allowedMethods() has set 405 (or 501 for a method no route knows): the
 * status is final only then. An unknown method is bad input, so it is a 405, never a 5xx.
 */
export async function notFoundMiddleware(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.status === 405 || ctx.status === 501) {
    ctx.status = 405;
    ctx.body = envelope('METHOD_NOT_ALLOWED', `method ${ctx.method} is not allowed on ${ctx.path}`);
    return;
  }
  if (ctx.body === undefined || ctx.body === null) {
    ctx.status = 404;
    ctx.body = envelope('NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
  }
}

/**
 * A body the parser gave up on part-way (a decoder error, a size limit) is left paused in the
 * socket, and a kept-alive connection then hangs: the next request on it waits until the server's
 * keep-alive timeout resets it (~6 s). Node drains bodies nobody started reading, not these: read
 * the rest and discard it, as Node would.
 */
function drainBody(req: IncomingMessage): void {
  if (req.complete) return;
  req.unpipe();
  req.resume();
}

/**
 * Wrap the body parser: what it throws without an HTTP status (a zlib error for a body that is
 * not the gzip its Content-Encoding claims, …) is still the client's body at fault, so a 400.
 * Errors from the routes it calls are left alone.
 */
export function bodyErrors(parser: Middleware): Middleware {
  return async (ctx, next) => {
    let downstream = false;
    try {
      await parser(ctx, () => {
        downstream = true;
        return next();
      });
    } catch (error) {
      if (!downstream) drainBody(ctx.req);
      if (downstream || typeof (error as { status?: unknown } | null)?.status === 'number') throw error;
      throw new ValidationError(`request body could not be read: ${(error as Error)?.message ?? 'unknown error'}`);
    }
  };
}
