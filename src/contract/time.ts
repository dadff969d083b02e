import { z } from 'zod';

/**
 * A moment named by a client: epoch milliseconds, or an ISO 8601 time (a date alone is its
 * midnight UTC). Whether it is in the past is for the service to say (it owns the clock).
 */
export const MomentSchema = z.union([
  z.number().int().min(0).max(8.64e15),
  z
    .string()
    .max(64)
    .refine((text) => parseMoment(text) !== null, { message: 'must be epoch milliseconds or an ISO 8601 time' }),
]);

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Epoch ms of a moment as sent (a string of digits is epoch ms too: query strings carry text), or null. */
export function parseMoment(value: number | string): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (!ISO.test(value)) return null;
  const time = Date.parse(value);
  return Number.isFinite(time) && time >= 0 ? time : null;
}

/** The time fields of a read: transaction time (`asOf`) and valid time (`validAt`). */
export const ReadTimeFields = {
  asOf: MomentSchema.optional(),
  validAt: MomentSchema.optional(),
};
