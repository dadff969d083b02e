import { z } from 'zod';
import { NameSchema } from './facts.js';
import { MomentSchema } from './time.js';

/**
 * Both spellings of the scope fields are accepted (the service we replace documented one and
 * accepted the other): source|sourceScope|scopeA and target|targetScope|scopeB.
 */
const Aliases = {
  source: NameSchema.optional(),
  sourceScope: NameSchema.optional(),
  scopeA: NameSchema.optional(),
  target: NameSchema.optional(),
  targetScope: NameSchema.optional(),
  scopeB: NameSchema.optional(),
};

type AliasInput = { source?: string; sourceScope?: string; scopeA?: string; target?: string; targetScope?: string; scopeB?: string };

function pickPair<T extends AliasInput>(value: T, ctx: z.RefinementCtx) {
  const source = value.source ?? value.sourceScope ?? value.scopeA;
  const target = value.target ?? value.targetScope ?? value.scopeB;
  if (source === undefined) ctx.addIssue({ code: 'custom', path: ['source'], message: 'source (or sourceScope) is required' });
  if (target === undefined) ctx.addIssue({ code: 'custom', path: ['target'], message: 'target (or targetScope) is required' });
  return { source: source ?? '', target: target ?? '' };
}

export const ForkSchema = z
  .strictObject({ ...Aliases, asOf: MomentSchema.optional() })
  .transform((v, ctx) => ({ ...pickPair(v, ctx), ...(v.asOf === undefined ? {} : { asOf: v.asOf }) }));

export const DiffSchema = z
  .strictObject({ ...Aliases, limit: z.number().int().min(1).max(10_000).default(1000), cursor: z.string().max(4096).nullable().optional() })
  .transform((v, ctx) => ({ ...pickPair(v, ctx), limit: v.limit, cursor: v.cursor ?? null }));

export const MergeStrategySchema = z.enum(['SOURCE_WINS', 'TARGET_WINS', 'KEEP_BOTH', 'REJECT']);

export const MergeSchema = z
  .strictObject({ ...Aliases, strategy: MergeStrategySchema.default('REJECT') })
  .transform((v, ctx) => ({ ...pickPair(v, ctx), strategy: v.strategy }));
