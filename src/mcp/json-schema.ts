import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

type JsonObject = Record<string, unknown>;

export interface InputSchemaOptions {
  /** Accepted but not advertised (aliases, fields a client may echo back from a reply). */
  readonly hide?: readonly string[] | undefined;
  /** Per-property descriptions for the model. */
  readonly describe?: Readonly<Record<string, string>> | undefined;
}

/** What "any JSON value" is advertised as: an empty schema (`{}`) is read as "no schema" by some clients. */
const ANY_JSON = { anyOf: ['string', 'number', 'boolean', 'null', 'object', 'array'].map((type) => ({ type })) };

/** Keywords that say what a value is; a schema with none of them (only a description, or nothing) accepts anything. */
const SHAPING = ['type', 'anyOf', 'oneOf', 'allOf', '$ref', 'enum', 'const', 'not'];

/**
 * Rewrite the JSON Schema constructs that MCP clients read differently into ones every client
 * reads the same: `type: [a, b]` becomes `anyOf` of single types, a schema that does not say
 * what its value is becomes "any JSON value", and `additionalProperties: {}` (allowed anyway) is dropped.
 */
export function portable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(portable);
  if (!isObject(schema)) return schema;
  if (!SHAPING.some((keyword) => keyword in schema)) return { ...schema, ...ANY_JSON };
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && isObject(value) && Object.keys(value).length === 0) continue;
    if (key === 'properties' || key === '$defs' || key === 'patternProperties') {
      out[key] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, portable(sub)])) : value;
    } else if (typeof value === 'object' && value !== null && key !== 'enum' && key !== 'const' && key !== 'required' && key !== 'default' && key !== 'examples') {
      out[key] = portable(value);
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(out.type)) {
    const { type, ...rest } = out;
    return { ...rest, anyOf: (type as unknown[]).map((t) => ({ type: t })) };
  }
  return out;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tool arguments must be described by one object schema: many model APIs refuse a top-level
 * anyOf. A union of object forms (one fact | {facts}, one pattern | {query}) is advertised as one
 * object with every property of every form, required only where all forms require it; the
 * contract schema still decides what is valid.
 */
function flattenUnion(schema: JsonObject): { properties: JsonObject; required: string[] } {
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf.filter(isObject) : [schema];
  const properties: JsonObject = {};
  let required: string[] | null = null;
  for (const branch of branches) {
    for (const [name, property] of Object.entries(isObject(branch.properties) ? branch.properties : {})) properties[name] ??= property;
    const own = Array.isArray(branch.required) ? branch.required.filter((r): r is string => typeof r === 'string') : [];
    required = required === null ? own : required.filter((r) => own.includes(r));
  }
  return { properties, required: required ?? [] };
}

/** An array of objects (`facts: [...]`) hides the same fields in its items. */
function withoutHiddenItemFields(property: JsonObject, hidden: ReadonlySet<string>): JsonObject {
  const items = property.items;
  if (hidden.size === 0 || !isObject(items) || !isObject(items.properties)) return property;
  const properties = Object.fromEntries(Object.entries(items.properties).filter(([name]) => !hidden.has(name)));
  return { ...property, items: { ...items, properties } };
}

/** The JSON Schema a tool advertises, derived from the contract schema that validates its arguments. */
export function toolInputSchema(schema: z.ZodType, options: InputSchemaOptions = {}): Tool['inputSchema'] {
  const raw = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
  const { properties, required } = flattenUnion(raw);
  const hidden = new Set(options.hide ?? []);
  const advertised: Record<string, object> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (hidden.has(name) || !isObject(property)) continue;
    const description = options.describe?.[name];
    const shown = withoutHiddenItemFields(property, hidden);
    advertised[name] = description === undefined ? shown : { ...shown, description };
  }
  const shown = required.filter((r) => !hidden.has(r));
  return portable({ type: 'object', properties: advertised, ...(shown.length > 0 ? { required: shown } : {}) }) as Tool['inputSchema'];
}

/** The outputSchema of a tool: its reply contract, one object (a union of replies flattened like inputs). */
export function toolOutputSchema(schema: z.ZodType): NonNullable<Tool['outputSchema']> {
  const raw = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonObject;
  if (!Array.isArray(raw.anyOf)) return portable({ ...raw, type: 'object' }) as NonNullable<Tool['outputSchema']>;
  const { properties, required } = flattenUnion(raw);
  return portable({ type: 'object', properties, ...(required.length > 0 ? { required } : {}) }) as NonNullable<Tool['outputSchema']>;
}
