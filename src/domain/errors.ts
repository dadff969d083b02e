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
  | 'INTERNAL_ERROR';

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

export class RateLimitedError extends VesperError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `rate limit exceeded, retry after ${retryAfterSeconds}s`, { retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
