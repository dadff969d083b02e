import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { type ErrorEnvelope, envelope } from '../contract/envelope.js';
import { VesperError } from '../domain/errors.js';
import { storageFailureOf } from '../store/storage-errors.js';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A successful tool call: the REST reply as `structuredContent` (validated by clients against
 * the tool's outputSchema) and the same JSON as one text block for clients older than MCP 2025-06-18.
 */
export function jsonResult(value: unknown): CallToolResult {
  const text: CallToolResult['content'] = [{ type: 'text', text: JSON.stringify(value) }];
  return isRecord(value) ? { content: text, structuredContent: value } : { content: text };
}

/**
 * The one mapping from a failure to an MCP tool result: `isError: true` with the JSON error
 * envelope, never a protocol error, so the model reads the code and can correct its call.
 */
export function errorEnvelopeOf(error: unknown): ErrorEnvelope {
  if (error instanceof VesperError) return envelope(error.code, error.message, error.details);
  const storage = storageFailureOf(error);
  if (storage) return envelope(storage.code, storage.message, storage.details);
  if (error instanceof z.ZodError) {
    const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    return envelope('VALIDATION_ERROR', `invalid arguments: ${issues[0]?.message ?? 'do not match the schema'}`, { issues });
  }
  return envelope('INTERNAL_ERROR', 'internal error');
}

export function errorResult(error: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(errorEnvelopeOf(error)) }], isError: true };
}
