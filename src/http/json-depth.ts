import type { Context } from 'koa';
import { ValidationError } from '../domain/errors.js';

/** No valid request nests deeper than this: metadata may nest 64 levels, inside a fact inside a batch. */
export const MAX_JSON_DEPTH = 100;

/** The nesting depth of a parsed JSON value, walked iteratively and abandoned as soon as it passes `limit`. */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuse deeply nested bodies before any validation sees them: schema validation, error
 * reporting and serialisation all recurse, and a 5,000-deep array overflowed the stack.
 */
export function jsonDepthCheck(ctx: Context): void {
  if (depthExceeds(ctx.request.body, MAX_JSON_DEPTH)) {
    throw new ValidationError(`request body nests deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
  }
}
