import { z } from 'zod';
import { MAX_ARITY } from '../domain/fact.js';
import { MAX_WINDOW_FACTS, SessionIdSchema } from './context.js';
import { EmbeddingValueSchema, MAX_EMBEDDING_DIMENSIONS, NameSchema, PredicateSchema } from './facts.js';

/*
 * The export format: JSON lines, one versioned codec (encodeExportLine / decodeExportLine; the
 * committed fixture test/fixtures/export-v3.jsonl pins version 3). A header, then what the
 * version carries, and an end line with the counts, so that a cut-off file is told from a whole one.
 *
 * 1: the tenant's scopes (as independent roots), its rules, the facts of every scope (with their
 *    versions, times and metadata), flattened per scope.
 * 2: and its context sessions and access counts (what lets a moved tenant's agents go on with
 *    `/context/diff`).
 * 3: the scope layout instead of flattened scopes: the layers (with their fact counts), each
 *    scope's chain of layers (its head first), fork base, merge bases and past-moment cutoffs;
 *    then the entries of every layer (a record with its embedding, or a dated retraction that
 *    hides the fact of a layer below), the logged versions of each fact per layer (transaction time: what as-of reads
 *    and forks at a past moment read), rules, sessions and access counts. Layer ids are the
 *    exporting tenant's; an import maps them onto new ones.
 * An import reads versions 1, 2 and 3.
 */

export const EXPORT_FORMAT = 'vesper-export';
export const EXPORT_VERSION = 3;
export const EXPORT_VERSIONS = [1, 2, 3] as const;

const Term = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Time = z.number().int();
const Layer = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Args = z.array(Term).max(MAX_ARITY);

export const ExportHeader = z.strictObject({
  kind: z.literal('header'),
  format: z.literal(EXPORT_FORMAT),
  version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  database: z.string(),
  tenant: z.string(),
  exportedAt: Time,
});
export const ExportScope = z.strictObject({ kind: z.literal('scope'), name: NameSchema, base: NameSchema.nullable(), createdAt: Time });
export const ExportRule = z.strictObject({ kind: z.literal('rule'), id: z.string().regex(/^rule_[a-z0-9]{1,40}$/), text: z.string().min(1).max(100_000), scope: NameSchema.nullable(), createdAt: Time });
const RecordFields = {
  version: z.number().int().min(1),
  confidence: z.number().min(0).max(1),
  createdAt: Time,
  updatedAt: Time,
  ttl: z.number().nullable(),
  expiresAt: Time.nullable(),
  validFrom: Time.nullable(),
  validUntil: Time.nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
};
export const ExportFact = z.strictObject({ kind: z.literal('fact'), scope: NameSchema, predicate: PredicateSchema, args: Args, negated: z.boolean(), ...RecordFields });
export const ExportSession = z.strictObject({
  kind: z.literal('session'),
  id: SessionIdSchema,
  windowId: z.string().max(200),
  createdAt: Time,
  lastUsedAt: Time,
  entries: z
    .array(z.strictObject({ predicate: PredicateSchema, args: Args, negated: z.boolean(), scope: NameSchema.nullable(), digest: z.string().max(200) }))
    .max(MAX_WINDOW_FACTS),
});
/** How many windows included a fact (its canonical identity, domain/fact.ts factKeyId). */
export const ExportAccess = z.strictObject({ kind: z.literal('access'), fact: z.string().min(1).max(100_000), count: z.number().int().min(1) });
const Count = z.number().int().min(0);
export const ExportEnd = z.strictObject({ kind: z.literal('end'), scopes: Count, rules: Count, facts: Count, sessions: Count.optional(), accessCounts: Count.optional() });

/* Version 3. */

/** A layer of the layout: `facts` is what its writes added to (or, negative, removed from) the chain it topped. */
export const ExportLayer = z.strictObject({ kind: z.literal('layer'), id: Layer, facts: z.number().int() });
/**
 * A scope: its chain of layers (head first: the only one written), the scope it was forked from,
 * per scope merged into it the source's chain at that merge (the base of the next diff or merge),
 * and per layer the transaction time it is read at (a fork at a past moment).
 */
export const ExportScopeLayout = z.strictObject({
  kind: z.literal('scope'),
  name: NameSchema,
  base: NameSchema.nullable(),
  createdAt: Time,
  chain: z.array(Layer).min(1).max(10_000),
  merges: z.record(NameSchema, z.array(Layer).min(1).max(10_000)).optional(),
  cutoffs: z.record(z.string().regex(/^\d{1,16}$/), Time).optional(),
});
const StoredRecord = z.strictObject(RecordFields);
/** An entry of a layer: the fact's record there, or (record null) a retraction dated `retractedAt` hiding it from the layers below. */
export const ExportEntry = z.strictObject({
  kind: z.literal('entry'),
  layer: Layer,
  predicate: PredicateSchema,
  args: Args,
  negated: z.boolean(),
  record: StoredRecord.nullable(),
  retractedAt: Time.optional(),
  /** The fact's embedding in this layer (what `/search` by `queryEmbedding` ranks by). */
  embedding: z.array(EmbeddingValueSchema).min(1).max(MAX_EMBEDDING_DIMENSIONS).optional(),
});
/** One logged write of a fact into a layer: when, by whom, the version it made and what it stored. */
const LoggedVersion = z.strictObject({ time: Time, actor: z.string().max(500).nullable(), version: z.number().int().min(0), record: StoredRecord.nullable(), retractedAt: Time.optional() });
/** The logged versions of one fact (one polarity) in one layer, newest first. */
export const ExportHistory = z.strictObject({
  kind: z.literal('history'),
  layer: Layer,
  predicate: PredicateSchema,
  args: Args,
  negated: z.boolean(),
  versions: z.array(LoggedVersion).min(1).max(1_000_000),
});
export const ExportEndV3 = z.strictObject({
  kind: z.literal('end'),
  layers: Count,
  scopes: Count,
  rules: Count,
  facts: Count,
  retractions: Count,
  versions: Count,
  sessions: Count,
  accessCounts: Count,
  /** The tenant's stored-bytes measure (quotas): forks share and merges copy without changing it. */
  bytes: Count,
});

const V1 = z.discriminatedUnion('kind', [ExportHeader, ExportScope, ExportRule, ExportFact, ExportEnd]);
const V2 = z.discriminatedUnion('kind', [ExportHeader, ExportScope, ExportRule, ExportFact, ExportSession, ExportAccess, ExportEnd]);
const V3 = z.discriminatedUnion('kind', [ExportHeader, ExportLayer, ExportScopeLayout, ExportRule, ExportEntry, ExportHistory, ExportSession, ExportAccess, ExportEndV3]);

export type ExportLineV2 = z.output<typeof V2>;
export type ExportLineV3 = z.output<typeof V3>;
export type ExportVersion = (typeof EXPORT_VERSIONS)[number];
/** A decoded line, with the version whose grammar it was read by. */
export type DecodedLine = { readonly version: 1 | 2; readonly line: ExportLineV2 } | { readonly version: 3; readonly line: ExportLineV3 };

/** Why a line does not decode (the import names the line). */
export class ExportLineError extends Error {}

/** The one writer of export lines: the current version only. */
export function encodeExportLine(line: ExportLineV3): string {
  return `${JSON.stringify(line)}\n`;
}

/**
 * Read one line by the grammar of `version` (the header's; null before the header, when only a
 * header decodes). Throws ExportLineError with the problem.
 */
export function decodeExportLine(text: string, version: ExportVersion | null): DecodedLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ExportLineError('not JSON');
  }
  const schema = version === null ? ExportHeader : version === 3 ? V3 : version === 2 ? V2 : V1;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ExportLineError(`${issue?.path.join('.') || '(line)'}: ${issue?.message ?? 'invalid'}`);
  }
  const line = parsed.data;
  const read = version ?? (line as z.output<typeof ExportHeader>).version;
  if (read === 3) {
    const v3 = line as ExportLineV3;
    if (v3.kind === 'entry' && (v3.record === null) === (v3.retractedAt === undefined)) throw new ExportLineError('an entry holds either a record or a retractedAt time');
    if (v3.kind === 'entry' && v3.record === null && v3.embedding !== undefined) throw new ExportLineError('embedding: a retraction has none');
    if (v3.kind === 'history' && v3.versions.some((v) => (v.record === null) === (v.retractedAt === undefined))) throw new ExportLineError('versions: each holds either a record or a retractedAt time');
    return { version: 3, line: v3 };
  }
  return { version: read, line: line as ExportLineV2 };
}

export const ImportReply = z.object({
  database: z.string(),
  tenant: z.string(),
  imported: z.object({
    layers: z.number().int(),
    scopes: z.number().int(),
    rules: z.number().int(),
    facts: z.number().int(),
    retractions: z.number().int(),
    versions: z.number().int(),
    sessions: z.number().int(),
    accessCounts: z.number().int(),
  }),
});
