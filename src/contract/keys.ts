import { z } from 'zod';
import { NameSchema } from './facts.js';

/** A grant: a list of names, or absent / null / ["*"] for all. */
const GrantSchema = z
  .array(z.union([NameSchema, z.literal('*')]))
  .max(1000)
  .nullable()
  .optional()
  .transform((list) => (list == null || list.length === 0 || list.includes('*') ? ('*' as const) : list));

/** epoch ms or an ISO-8601 date; null = never expires. */
const ExpiresAt = z
  .union([z.number().int().positive(), z.iso.datetime({ offset: true })])
  .nullable()
  .optional()
  .transform((v) => (v == null ? null : typeof v === 'number' ? v : Date.parse(v)));

export const CreateKeySchema = z.strictObject({
  role: z.enum(['reader', 'writer', 'admin']),
  databases: GrantSchema,
  tenants: GrantSchema,
  description: z.string().max(500).nullable().optional(),
  name: z.string().max(100).nullable().optional(),
  expiresAt: ExpiresAt,
  public: z.boolean().default(false),
});
