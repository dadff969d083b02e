import { z } from 'zod';
import { NameSchema } from './facts.js';

/** `POST /teach`: one rule as JSON; head and body are checked by the engine's JSON rule parser. */
export const TeachSchema = z.strictObject({
  head: z.unknown().refine((v) => v !== undefined, { message: 'head is required' }),
  body: z.array(z.unknown()).min(1, 'a rule needs a body').max(64),
  scope: NameSchema.nullable().optional(),
});

/** `POST /rules` and the admin rules endpoint: rules in text form, many at once. */
export const RulesTextSchema = z.strictObject({
  text: z.string().min(1, 'text must not be empty').max(1_000_000),
  scope: NameSchema.nullable().optional(),
});
