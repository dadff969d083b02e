import { z } from 'zod';
import { ValidationError } from '../domain/errors.js';

/** Parse untrusted input with a contract schema; every failure becomes a 400 listing the issues. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const first = issues[0];
  const where = first && first.path !== '(root)' ? `${first.path}: ` : '';
  throw new ValidationError(`invalid ${what}: ${where}${first?.message ?? 'does not match the schema'}`, { issues });
}
