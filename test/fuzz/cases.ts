import fc from 'fast-check';

/**
 * Requests generated from the OpenAPI document: for each operation, an arbitrary of whole HTTP
 * requests (method, raw path, headers, raw body) mixing schema-shaped values (so requests get past
 * validation and reach the service) with hostile ones (malformed JSON, wrong types, huge and deep
 * values, unicode and separator bytes, prototype keys, odd path parameters and address headers).
 */

type Json = Record<string, any>;

export interface Route {
  readonly method: string;
  /** The OpenAPI path template, `/admin/databases/{db}`. */
  readonly path: string;
  readonly operation: Json;
}

export interface FuzzCase {
  readonly method: string;
  /** Sent byte for byte (already percent-encoded where it needs to be). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** An MCP tool as tools/list describes it. */
export interface Tool {
  readonly name: string;
  readonly inputSchema?: Json;
}

/** What the runner learned from the server before generating: MCP tools and a live session. */
export interface FuzzContext {
  readonly tools: readonly Tool[];
}

/** Stands for the id of an MCP session the runner opened; replaced when the request is sent. */
export const SESSION = '@session';
/** Stands for the sessionId of a legacy SSE stream the runner opened. */
export const SSE_SESSION = '@sse';

/** Every operation of the document, in document order. */
export function routesOf(document: Json): Route[] {
  const routes: Route[] = [];
  for (const [path, methods] of Object.entries<Json>(document.paths)) {
    for (const [method, operation] of Object.entries<Json>(methods)) routes.push({ method: method.toUpperCase(), path, operation });
  }
  return routes;
}

// A few names valid requests share, so generated requests also meet existing databases and tenants.
const TENANTS = ['t1', 't2', 'default'];
const DATABASES = ['default', 'd1'];

const SPECIAL_STRINGS = [
  '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  '\u0000', '\u001f', 'a\u0000b', 'a\u001fb', '!', '~', '/', 'a!b', 'a~b', 'a/b', '.', '..', '%', '%2F', '%00', '%ZZ',
  '\uD800', '\uDFFF', '\uFFFF', '\uFEFF', '𝕏', 'é', 'ǅ', '\u202E', 'null', 'undefined', 'NaN', '-1', '1e999', 'true',
  '*', '?', '#', '\\', '"', "'", '\n', '\r\n', '\t', '{}', '[]', 'SELECT', 'x'.repeat(257),
];

/** Strings meant to break names and arguments. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...SPECIAL_STRINGS), weight: 4 },
  { arbitrary: fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/), weight: 3 },
  { arbitrary: fc.constantFrom(...TENANTS, ...DATABASES), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
);

/** Huge strings, only near the top of a value (nested, they would multiply past any body limit). */
const hugeString = fc.integer({ min: 1000, max: 200_000 }).map((n) => 'y'.repeat(n));

const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, with keys that are prototype names or separator bytes. */
export const nastyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A value shaped by a JSON Schema most of the time, anything else otherwise. */
function fromSchema(schema: Json | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 6) return nastyValue;
  return fc.oneof({ arbitrary: shaped(schema, depth), weight: 5 }, { arbitrary: nastyValue, weight: 1 });
}

function shaped(schema: Json, depth: number): fc.Arbitrary<unknown> {
  const alternatives = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return fromSchema(schema.allOf[0], depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.oneof(fc.constantFrom(...schema.enum), nastyString);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return depth <= 1 ? fc.oneof({ arbitrary: nastyString, weight: 20 }, { arbitrary: hugeString, weight: 1 }) : nastyString;
    case 'integer':
      return fc.oneof(fc.integer({ min: -2, max: 20 }), nastyNumber);
    case 'number':
      return nastyNumber;
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.oneof(
        { arbitrary: fc.array(fromSchema(schema.items, depth + 1), { maxLength: 5 }), weight: 12 },
        // Huge: one shaped element repeated, a batch far bigger than any test sends.
        { arbitrary: fc.tuple(fc.integer({ min: 1000, max: 5000 }), fromSchema(schema.items, 2)).map(([n, item]) => Array.from({ length: n }, () => item)), weight: depth <= 1 ? 1 : 0 },
      );
    case 'object': {
      const properties = Object.entries<Json>(schema.properties ?? {});
      if (properties.length === 0) return fc.dictionary(nastyString, nastyValue, { maxKeys: 3 });
      const record = Object.fromEntries(properties.map(([name, s]) => [name, fromSchema(s, depth + 1)]));
      const required = (schema.required ?? []) as string[];
      // Required fields are sometimes left out too: the validation must say so, not crash.
      return fc.record(record, { requiredKeys: [] }).chain((value) =>
        fc.boolean().map((keepRequired) => (keepRequired ? { ...Object.fromEntries(required.map((n) => [n, 'x'])), ...value } : value)),
      );
    }
    default:
      return nastyValue;
  }
}

const deepText = fc.tuple(fc.constantFrom(50, 99, 101, 150, 1000, 5000, 100_000), fc.constantFrom('[', '{"a":')).map(([n, open]) => {
  const close = open === '[' ? ']' : '}';
  return open.repeat(n) + '1' + close.repeat(n);
});

const malformedJson = fc.oneof(
  fc.constantFrom('{', '{"a":', 'nul', "{'a':1}", '[1,2', '\u0000', '{"a":1}garbage', '"\uD800"', '{"a":1,}', '01', '1e99999', '{"__proto__":', '\uFEFF{}', '[]]'),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** The text of a body: prototype keys can only be sent as written, JSON.stringify drops them. */
function withPrototypeKeys(value: unknown, polluter: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  const inject = `"__proto__":${JSON.stringify(polluter)},"constructor":{"prototype":${JSON.stringify(polluter)}}`;
  if (text.startsWith('{') && text !== '{}') return `{${inject},${text.slice(1)}`;
  return `{${inject}}`;
}

function bodyOf(operation: Json): fc.Arbitrary<string | undefined> {
  const schema = operation.requestBody?.content?.['application/json']?.schema as Json | undefined;
  const shapedBody = fromSchema(schema).map((v) => JSON.stringify(v) ?? 'null');
  return fc.oneof(
    { arbitrary: shapedBody, weight: 8 },
    { arbitrary: nastyValue.map((v) => JSON.stringify(v) ?? 'null'), weight: 2 },
    { arbitrary: malformedJson, weight: 2 },
    { arbitrary: fc.tuple(fromSchema(schema), nastyValue).map(([v, p]) => withPrototypeKeys(v, p)), weight: 1 },
    { arbitrary: deepText, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

const MCP_ACCEPT = 'application/json, text/event-stream';

/** JSON-RPC messages of the MCP transports: tool calls with arguments shaped by each tool's schema. */
function mcpMessage(tools: readonly Tool[]): fc.Arbitrary<unknown> {
  const id = fc.oneof(fc.integer({ min: 1, max: 1e6 }), nastyString, fc.constant(null));
  const call = tools.length === 0
    ? nastyValue
    : fc.constantFrom(...tools).chain((tool) =>
        fc.record({ name: fc.oneof({ arbitrary: fc.constant(tool.name), weight: 9 }, { arbitrary: nastyString, weight: 1 }), arguments: fromSchema(tool.inputSchema) }),
      );
  const initialize = fromSchema({
    type: 'object',
    required: ['protocolVersion', 'capabilities', 'clientInfo'],
    properties: { protocolVersion: { enum: ['2025-03-26', '2024-11-05', '2025-06-18'] }, capabilities: { type: 'object' }, clientInfo: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } } },
  });
  const message = fc.oneof(
    { arbitrary: fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.constant('tools/call'), params: call }), weight: 8 },
    { arbitrary: fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.constant('initialize'), params: initialize }), weight: 1 },
    { arbitrary: fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.constantFrom('tools/list', 'ping', 'resources/list', 'resources/templates/list', 'prompts/list'), params: fc.option(nastyValue) }), weight: 1 },
    { arbitrary: fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.constant('resources/read'), params: fc.record({ uri: fc.oneof(nastyString, nastyString.map((x) => `vesper://${x}`)) }) }), weight: 1 },
    { arbitrary: fc.record({ jsonrpc: fc.constantFrom('2.0', '1.0'), id, method: nastyString, params: nastyValue }), weight: 1 },
  );
  return fc.oneof({ arbitrary: message, weight: 9 }, { arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }), weight: 1 });
}

function mcpBodyOf(tools: readonly Tool[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { arbitrary: mcpMessage(tools).map((v) => JSON.stringify(v) ?? 'null'), weight: 12 },
    { arbitrary: malformedJson, weight: 1 },
    { arbitrary: nastyValue.map((v) => JSON.stringify(v) ?? 'null'), weight: 1 },
    { arbitrary: fc.tuple(mcpMessage(tools), nastyValue).map(([v, p]) => withPrototypeKeys(v, p)), weight: 1 },
    { arbitrary: deepText, weight: 1 },
  );
}

/** A path parameter: mostly percent-encoded, sometimes sent raw when the bytes allow it. */
const pathSegment = fc.tuple(nastyString, fc.integer({ min: 0, max: 5 })).map(([s, mode]) => {
  if (mode === 0 && /^[\x21-\x7e]+$/.test(s)) return s;
  try {
    return encodeURIComponent(s).slice(0, 100_000) || '%20';
  } catch {
    return '%ED%A0%80'; // a lone surrogate, as its UTF-8-ish bytes
  }
});

/** A header as a client can send it: UTF-8 bytes read as latin1, no control bytes but tab. */
function headerValue(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '').slice(0, 8000);
}

const addressHeader = (pool: readonly string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...pool), weight: 4 }, { arbitrary: nastyString.map(headerValue), weight: 2 }, { arbitrary: fc.constant(undefined), weight: 1 });

const contentType = fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'garbage/\u00ff');

/** Headers a client may add: mostly none, so most requests get past the gates to the operation. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { arbitrary: fc.constant({}), weight: 6 },
  { arbitrary: fc.record({ 'content-type': contentType }), weight: 2 },
  {
    arbitrary: fc.record(
      {
        'content-type': contentType,
        'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'),
        authorization: fc.oneof(fc.constantFrom('Bearer ', 'Bearer vsp_sk_', 'Basic Zm9vOmJhcg==', 'Bearer vsp_pk_x.y'), nastyString.map(headerValue)),
        'x-api-key': nastyString.map(headerValue),
        origin: fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1'),
        'mcp-session-id': nastyString.map(headerValue),
        'last-event-id': nastyString.map(headerValue),
      },
      { requiredKeys: [] },
    ),
    weight: 2,
  },
);

function queryOf(parameters: Json[]): fc.Arbitrary<string> {
  const query = parameters.filter((p) => p.in === 'query');
  if (query.length === 0) return fc.constant('');
  const record = Object.fromEntries(query.map((p) => [p.name as string, fromSchema(p.schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''))]));
  return fc.record(record, { requiredKeys: [] }).map((values) => {
    const pairs = Object.entries(values).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent((v ?? '').replace(/[\uD800-\uDFFF]/g, '?')).slice(0, 50_000)}`);
    return pairs.length > 0 ? `?${pairs.join('&')}` : '';
  });
}

/** The arbitrary of one operation's requests. */
export function caseOf(route: Route, context: FuzzContext = { tools: [] }): fc.Arbitrary<FuzzCase> {
  const parameters = (route.operation.parameters ?? []) as Json[];
  const mcp = route.path === '/mcp' || route.path === '/mcp/messages';
  const body = route.method === 'POST'
    ? mcp ? mcpBodyOf(context.tools) : bodyOf(route.operation)
    : fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: malformedJson, weight: 1 });
  // MCP requests mostly come as a client sends them: in the runner's session, accepting both types.
  const mcpHeaders = mcp
    ? fc.record({ accept: fc.oneof({ arbitrary: fc.constant(MCP_ACCEPT), weight: 9 }, { arbitrary: fc.constant('application/json'), weight: 1 }), session: fc.oneof({ arbitrary: fc.constant(SESSION), weight: 8 }, { arbitrary: nastyString.map(headerValue), weight: 1 }, { arbitrary: fc.constant(undefined), weight: 2 }) })
    : fc.constant(undefined);
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const addressed = parameters.some((p) => p.in === 'header' && p.name === 'X-Tenant-ID');
  return fc
    .record({
      segments: fc.tuple(...names.map(() => pathSegment)),
      query: queryOf(parameters),
      tenant: addressHeader(TENANTS),
      database: addressHeader(DATABASES),
      // 0: headers, 1: /~tenant/…, 2: /db/database/~tenant/…
      form: fc.integer({ min: 0, max: addressed ? 2 : 0 }),
      body,
      extra: extraHeaders,
      mcpHeaders,
    })
    .map(({ segments, query: queryDrawn, tenant: tenantDrawn, database: databaseDrawn, form: formDrawn, body, extra, mcpHeaders }) => {
      let tenant = tenantDrawn;
      let database = databaseDrawn;
      let form = formDrawn;
      let query = queryDrawn;
      let index = 0;
      let path = route.path.replace(/\{\w+\}/g, () => segments[index++] ?? '');
      const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
      if (mcpHeaders !== undefined) {
        headers.accept = mcpHeaders.accept;
        if (mcpHeaders.session !== undefined) headers['mcp-session-id'] = mcpHeaders.session;
        // The session's address: a request naming another one is refused, which other cases cover.
        if (mcpHeaders.session === SESSION) {
          tenant = 't1';
          database = 'default';
          form = 0;
        }
      }
      if (form === 0) {
        if (tenant !== undefined) headers['x-tenant-id'] = tenant;
        if (database !== undefined) headers['x-database'] = database;
      } else {
        const t = encodeURIComponent(tenant ?? 't1');
        path = form === 1 ? `/~${t}${path}` : `/db/${encodeURIComponent(database ?? 'default')}/~${t}${path}`;
      }
      if (route.path === '/mcp/messages') {
        const id = mcpHeaders?.session === SESSION ? SSE_SESSION : encodeURIComponent(headers['mcp-session-id'] ?? '');
        delete headers['mcp-session-id'];
        if (mcpHeaders?.session !== undefined) query = `${query === '' ? '?' : `${query}&`}sessionId=${id}`;
      }
      return { method: route.method, path: path + query, headers, ...(body === undefined ? {} : { body }) };
    });
}
