import { z } from 'zod';
import { EmbeddingSchema, NameSchema } from './facts.js';
import { MomentSchema } from './time.js';

export const MAX_QUERY_CHARS = 2000;
export const MAX_SEARCH_RESULTS = 1000;

/** Free text to rank facts by (BM25 over their words); empty text matches nothing. */
export const QueryTextSchema = z.string().max(MAX_QUERY_CHARS, `query has at most ${MAX_QUERY_CHARS} characters`);

/** Retrieval fields shared by search and the context endpoints. */
export const RelevanceFields = {
  query: QueryTextSchema.nullable().optional(),
  queryEmbedding: EmbeddingSchema.nullable().optional(),
};

/** `POST /search`: the facts most relevant to a text and/or a vector, best first. */
export const SearchSchema = z
  .strictObject({
    ...RelevanceFields,
    limit: z.number().int().min(1).max(MAX_SEARCH_RESULTS).default(10),
    scope: NameSchema.nullable().optional(),
    /** The facts as they stood then (transaction time); text only: past embeddings are not kept. */
    asOf: MomentSchema.optional(),
  })
  .refine((b) => (b.query ?? null) !== null || (b.queryEmbedding ?? null) !== null, { message: 'query or queryEmbedding is required' })
  // The refinement in JSON Schema (the OpenAPI document, the MCP tool's inputSchema): one of the two, not null.
  .meta({ anyOf: [{ required: ['query'], properties: { query: { type: 'string' } } }, { required: ['queryEmbedding'], properties: { queryEmbedding: { type: 'array' } } }] });
export type SearchBody = z.output<typeof SearchSchema>;
