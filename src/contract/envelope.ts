import type { ErrorCode, ErrorDetails } from '../domain/errors.js';

/** The one error shape of every transport: {code, message, details, type}. */
export interface ErrorEnvelope {
  readonly code: ErrorCode | 'METHOD_NOT_ALLOWED';
  readonly message: string;
  readonly details: ErrorDetails;
  readonly type: string;
}

/** The exception type names clients of the service we replace switch on. */
export const ERROR_TYPES: Record<ErrorEnvelope['code'], string> = {
  VALIDATION_ERROR: 'ValidationException',
  UNAUTHORIZED: 'UnauthorizedException',
  FORBIDDEN: 'ForbiddenException',
  NOT_FOUND: 'NotFoundException',
  TENANT_NOT_FOUND: 'TenantNotFoundException',
  CONFLICT: 'ConflictException',
  PAYLOAD_TOO_LARGE: 'PayloadTooLargeException',
  RATE_LIMITED: 'RateLimitedException',
  QUOTA_EXCEEDED: 'QuotaExceededException',
  TOO_MANY_OPEN_DATABASES: 'ServiceUnavailableException',
  STORAGE_FULL: 'InsufficientStorageException',
  STORAGE_UNAVAILABLE: 'ServiceUnavailableException',
  QUERY_BUDGET_EXCEEDED: 'QueryBudgetExceededException',
  REQUEST_CANCELLED: 'RequestCancelledException',
  FACT_NOT_FOUND: 'FactNotFoundException',
  TRANSACTION_NOT_FOUND: 'TransactionNotFoundException',
  TRANSACTION_CONFLICT: 'TransactionConflictException',
  TOO_MANY_TRANSACTIONS: 'TooManyTransactionsException',
  METHOD_NOT_ALLOWED: 'MethodNotAllowedException',
  INTERNAL_ERROR: 'InternalException',
  DATA_CORRUPTED: 'DataCorruptedException',
};

export function envelope(code: ErrorEnvelope['code'], message: string, details: ErrorDetails = null): ErrorEnvelope {
  return { code, message, details, type: ERROR_TYPES[code] };
}
