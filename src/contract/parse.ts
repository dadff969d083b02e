import { z } from 'zod';
import { ValidationError } from '../domain/errors.js';

/** Parse untrusted input with a contract schema; every failure becomes a 400 listing the issues. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap(closestIssues).slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const first = issues[0];
  const where = first && first.path !== '(root)' ? `${first.path}: ` : '';
  throw new ValidationError(`invalid ${what}: ${where}${first?.message ?? 'does not match the schema'}`, { issues });
}

/**
 * A failed union (one fact or {facts}; one pattern or a query) only says "Invalid input" at the
 * root. Report the issues of the branch that came closest (fewest issues; ties go to the last,
 * the single-item form), so "args: at most 16 args" reaches the client.
 */
function closestIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  // Every branch rejects the value itself (a term that is no JSON scalar): the union's own message says it best.
  const all = issue.errors.flat();
  if (all.every((i) => i.path.length === 0) && new Set(all.map((i) => i.message)).size > 1) return [issue];
  const best = issue.errors.reduce((a, b) => (b.length <= a.length ? b : a));
  return best.flatMap((inner) => closestIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}
