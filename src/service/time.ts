import { parseMoment } from '../contract/time.js';
import { ValidationError } from '../domain/errors.js';
import type { ReadMoment } from './fact-source.js';

/**
 * The moment a read looks at. `asOf` must not be later than the server's clock: the future's
 * history is not written yet, and an answer for it would change without any write.
 */
export function readMoment(input: { readonly asOf?: number | string | undefined; readonly validAt?: number | string | undefined }, now: number): ReadMoment {
  const asOf = input.asOf === undefined ? undefined : momentOf(input.asOf, 'asOf');
  const validAt = input.validAt === undefined ? undefined : momentOf(input.validAt, 'validAt');
  if (asOf !== undefined && asOf > now) throw new ValidationError(`asOf is later than the server's clock (${new Date(now).toISOString()})`, { field: 'asOf' });
  if (asOf === undefined && validAt === undefined) return now;
  return { now, asOf, validAt };
}

/** A past moment that must be given (fork, revert). */
export function pastMoment(value: number | string, now: number, field: string): number {
  const time = momentOf(value, field);
  if (time > now) throw new ValidationError(`${field} is later than the server's clock (${new Date(now).toISOString()})`, { field });
  return time;
}

function momentOf(value: number | string, field: string): number {
  const time = parseMoment(value);
  if (time === null) throw new ValidationError(`${field} must be epoch milliseconds or an ISO 8601 time`, { field });
  return time;
}
