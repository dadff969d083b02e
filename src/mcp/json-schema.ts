import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

type JsonObject = Record<string, unknown>;

export interface InputSchemaOptions {
  /** Accepted but not advertised (aliases, fields a client may echo back from a reply). */
  readonly hide?: readonly string[];
  /** Per-property descriptions for the model. */
  readonly describe?: Readonly<Record<string, string>>;
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
  return { type: 'object', properties: advertised, ...(shown.length > 0 ? { required: shown } : {}) };
}
