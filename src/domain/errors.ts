/**
 * The error catalogue. Every failure that can reach a client is a VesperError with a stable
 * `code`; transports map codes to their own vocabulary in exactly one place (http/errors.ts,
 * mcp tool results). Programmer mistakes stay plain TypeErrors and surface as INTERNAL_ERROR.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TENANT_NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'TOO_MANY_OPEN_DATABASES'
  | 'STORAGE_FULL'
  | 'STORAGE_UNAVAILABLE'
  | 'QUERY_BUDGET_EXCEEDED'
  | 'REQUEST_CANCELLED'
  | 'FACT_NOT_FOUND'
  | 'TRANSACTION_NOT_FOUND'
  | 'TRANSACTION_CONFLICT'
  | 'TOO_MANY_TRANSACTIONS'
  | 'INTERNAL_ERROR'
  | 'DATA_CORRUPTED';

export type ErrorDetails = Record<string, unknown> | null;

export class VesperError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class ValidationError extends VesperError {
  constructor(message: string, details: ErrorDetails = null) {
    super('VALIDATION_ERROR', message, details);
  }
}

export class UnauthorizedError extends VesperError {
  constructor(message = 'a valid API key is required', details: ErrorDetails = null) {
    super('UNAUTHORIZED', message, details);
  }
}

export class ForbiddenError extends VesperError {
  constructor(message: string, details: ErrorDetails = null) {
    super('FORBIDDEN', message, details);
  }
}

export class NotFoundError extends VesperError {
  constructor(message: string, details: ErrorDetails = null) {
    super('NOT_FOUND', message, details);
  }
}

export class TenantNotFoundError extends VesperError {
  constructor(tenant: string, database: string) {
    super('TENANT_NOT_FOUND', `tenant '${tenant}' does not exist in database '${database}'`, { tenant, database });
  }
}

export class ConflictError extends VesperError {
  constructor(message: string, details: ErrorDetails = null) {
    super('CONFLICT', message, details);
  }
}

export class PayloadTooLargeError extends VesperError {
  constructor(message: string, details: ErrorDetails = null) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

/** Stored bytes that do not decode as what their key says they are: a server fault, logged with the key. */
export class CorruptionError extends VesperError {
  constructor(what: string, key: string | null, cause?: unknown) {
    super('DATA_CORRUPTED', `stored ${what} is corrupt`, { key }, { cause });
  }
}

export class RateLimitedError extends VesperError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = `rate limit exceeded, retry after ${retryAfterSeconds}s`, details: Record<string, unknown> = {}) {
    super('RATE_LIMITED', message, { ...details, retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Which quota of a tenant's settings a write would exceed. */
export type Quota = 'maxFacts' | 'maxBytes';

/** A write would take the tenant past a quota of its settings: nothing of it was written. */
export class QuotaExceededError extends VesperError {
  constructor(quota: Quota, limit: number, current: number, requested: number) {
    const what = quota === 'maxFacts' ? 'facts' : 'bytes of facts';
    super('QUOTA_EXCEEDED', `quota exceeded: the tenant may hold ${limit} ${what}; it holds ${current} and this write would make ${requested}; nothing was written`, { quota, limit, current, requested });
  }
}

/** Errors a client should retry after a delay (the `Retry-After` header). */
export function retryAfterOf(error: VesperError): number | null {
  return error instanceof RateLimitedError || error instanceof TooManyOpenDatabasesError || error instanceof StorageUnavailableError ? error.retryAfterSeconds : null;
}

/** A database is being deleted: requests on it wait for nothing and are refused until its name is free again. */
export class DatabaseDroppingError extends VesperError {
  constructor(database: string) {
    super('CONFLICT', `database '${database}' is being deleted`, { database, state: 'dropping' });
  }
}

/** Every open-database slot is in use (or the process is out of file descriptors): a momentary condition. */
export class TooManyOpenDatabasesError extends VesperError {
  readonly retryAfterSeconds: number;
  constructor(database: string, limit: number, reason: 'slots' | 'descriptors', retryAfterSeconds = 1) {
    super('TOO_MANY_OPEN_DATABASES', `database '${database}' cannot be opened now: ${reason === 'slots' ? `all ${limit} open-database slots are in use` : 'the process is out of file descriptors'}`, {
      database,
      limit,
      reason,
      retryAfterSeconds,
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The data directory's disk is full: the write was not applied; reads keep working. */
export class StorageFullError extends VesperError {
  constructor(database: string, options?: { cause?: unknown }) {
    super('STORAGE_FULL', `no space left to write to database '${database}'; nothing was written, reads keep working`, { database }, options);
  }
}

/**
 * The database server behind the store cannot serve the request now (PostgreSQL backend): the
 * connection is lost, or the server asked to try again (a serialization conflict, no connection
 * free). Nothing of a refused write was applied; the same request may be sent again.
 */
export class StorageUnavailableError extends VesperError {
  readonly retryAfterSeconds: number;
  constructor(reason: 'connection' | 'try-again', options?: { cause?: unknown }, retryAfterSeconds = 1) {
    const what = reason === 'connection' ? 'the connection to the database server is lost' : 'the database server asked to try again';
    super('STORAGE_UNAVAILABLE', `${what}; nothing was written, retry after ${retryAfterSeconds}s`, { reason, retryAfterSeconds }, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Which limit of a query's evaluation budget was hit (time, tuples produced, stored rows read). */
export type BudgetLimit = 'timeMs' | 'maxTuples' | 'maxRows';

/** A query stopped because it used up its evaluation budget: narrow it (bind arguments) or raise the limit. */
export class QueryBudgetExceededError extends VesperError {
  constructor(limit: BudgetLimit, value: number) {
    const what = { timeMs: `ran longer than ${value} ms`, maxTuples: `produced more than ${value} tuples`, maxRows: `read more than ${value} stored facts` }[limit];
    super('QUERY_BUDGET_EXCEEDED', `query ${what}: stopped (its evaluation budget)`, { limit, value });
  }
}

/** The client went away before the reply: its evaluation stops (the reply is never seen). */
export class RequestCancelledError extends VesperError {
  constructor() {
    super('REQUEST_CANCELLED', 'the client closed the connection before the reply');
  }
}

/** A change to a fact (PATCH /tell) names a fact that does not exist in that scope. */
export class FactNotFoundError extends VesperError {
  constructor(fact: { predicate: string; args: readonly unknown[]; negated: boolean; scope: string }) {
    super('FACT_NOT_FOUND', `fact ${fact.negated ? 'NOT ' : ''}${fact.predicate}(${fact.args.map((a) => JSON.stringify(a)).join(', ')}) does not exist in scope '${fact.scope}'`, { ...fact, args: [...fact.args] });
  }
}

/**
 * No open transaction of this tenant has that id: never opened, committed, rolled back, expired,
 * or another tenant's (the same answer for all, so an id says nothing about other tenants).
 */
export class TransactionNotFoundError extends VesperError {
  constructor(id: string) {
    super('TRANSACTION_NOT_FOUND', `no open transaction '${id}' (it was committed, rolled back or expired, or never existed)`, { transactionId: id });
  }
}

/** What a transaction read changed before its commit: nothing of it was applied. */
export class TransactionConflictError extends VesperError {
  constructor(id: string, conflicts: readonly Record<string, unknown>[]) {
    super('TRANSACTION_CONFLICT', `transaction '${id}' read facts that changed before its commit (${conflicts.length}); nothing was applied`, { transactionId: id, conflicts: [...conflicts] });
  }
}

/** The tenant has as many open transactions as its settings allow. */
export class TooManyTransactionsError extends VesperError {
  constructor(limit: number) {
    super('TOO_MANY_TRANSACTIONS', `the tenant already has ${limit} open transactions (setting maxOpenTransactions): commit or roll one back first`, { limit });
  }
}
