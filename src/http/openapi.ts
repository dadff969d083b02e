import { z } from 'zod';
import { ERROR_TYPES } from '../contract/envelope.js';
import { OPERATIONS, type OperationDef, isRaw, takesBody } from '../operations/index.js';
import { ROLE_MATRIX } from '../service/authorization.js';
import { HTTP_STATUS } from './errors.js';
import { pathsOf } from './router.js';

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 of a zod contract, as OpenAPI 3.1 embeds it (no `$schema`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');

/** The tag of an operation: the first path segment that says what it is about. */
function tagOf(op: OperationDef): string {
  const segment = op.path.split('/')[1] ?? '';
  if (['tell', 'ask', 'retract', 'facts', 'predicates'].includes(segment)) return 'facts';
  if (['teach', 'rules'].includes(segment) || op.path.endsWith('/rules') || op.path.includes('/rules/')) return 'rules';
  if (segment.startsWith('scope')) return 'scopes';
  if (['context', 'events', 'mcp'].includes(segment)) return segment;
  if (['health', 'ready', 'metrics', 'openapi.json'].includes(segment)) return 'operations';
  return 'admin';
}

const TAGS = [
  { name: 'facts', description: 'Tell, ask, retract and list facts' },
  { name: 'rules', description: 'Datalog rules of a tenant and of a database' },
  { name: 'scopes', description: 'Branches inside a tenant: fork, diff, merge' },
  { name: 'context', description: 'Context windows for agents' },
  { name: 'events', description: 'Change stream' },
  { name: 'admin', description: 'Databases, tenants, keys, audit' },
  { name: 'operations', description: 'Probes, metrics, this document' },
  { name: 'mcp', description: 'Model Context Protocol transports (the tools are the operations of this document)' },
];

const TENANT_HEADER = { name: 'X-Tenant-ID', in: 'header', required: true, description: 'The tenant (or the path form /~{tenant}/…)', schema: { type: 'string' } };
const DATABASE_HEADER = { name: 'X-Database', in: 'header', required: false, description: 'The database (or the path form /db/{database}/…)', schema: { type: 'string', default: 'default' } };
const TRANSACTION_HEADER = { name: 'X-Transaction-ID', in: 'header', required: false, description: 'An open transaction (POST /tx/begin): writes are buffered until its commit, reads see them', schema: { type: 'string' } };
const ERROR = { $ref: '#/components/responses/Error' };

function parametersOf(op: OperationDef, path: string): Json[] {
  const input = op.input === null ? null : jsonSchema(op.input, 'input');
  const properties = (input?.properties ?? {}) as Record<string, Json>;
  const required = new Set((input?.required ?? []) as string[]);
  const inPath = pathParams(path);
  const parameters: Json[] = inPath.map((name) => ({ name, in: 'path', required: true, schema: properties[name] ?? { type: 'string' } }));
  if (!takesBody(op.method)) {
    for (const [name, schema] of Object.entries(properties)) {
      if (!inPath.includes(name)) parameters.push({ name, in: 'query', required: required.has(name), schema });
    }
  }
  if (op.access.on === 'tenant') parameters.push(TENANT_HEADER, DATABASE_HEADER);
  if (!isRaw(op) && op.transactional === true) parameters.push(TRANSACTION_HEADER);
  if (op.access.on === 'session') parameters.push({ ...TENANT_HEADER, required: false, description: 'The tenant of the MCP session (default: default)' }, DATABASE_HEADER);
  return parameters;
}

/** The JSON body: the input without its path parameters. */
function requestBodyOf(op: OperationDef, path: string): Json | null {
  if (isRaw(op) && op.consumes) return { required: true, content: { [op.consumes]: { schema: { type: 'string', description: 'JSON lines' } } } };
  if (!takesBody(op.method) || op.input === null || isRaw(op)) return op.method === 'POST' && isRaw(op) ? { required: true, content: { 'application/json': { schema: { type: 'object', description: 'a JSON-RPC message' } } } } : null;
  const schema = jsonSchema(op.input, 'input');
  const inPath = pathParams(path);
  if (inPath.length > 0 && schema.properties) {
    schema.properties = Object.fromEntries(Object.entries(schema.properties).filter(([name]) => !inPath.includes(name)));
    schema.required = ((schema.required ?? []) as string[]).filter((name) => !inPath.includes(name));
  }
  const required = Array.isArray(schema.required) ? schema.required.length > 0 : schema.anyOf !== undefined;
  return { required, content: { 'application/json': { schema } } };
}

function responsesOf(op: OperationDef): Json {
  const responses: Json = {};
  if (isRaw(op)) {
    const schema = op.produces === 'application/json' ? { type: 'object' } : { type: 'string' };
    if (op.consumes) responses['409'] = ERROR;
    responses[String(op.status ?? 200)] = { description: op.summary, content: { [op.produces]: { schema } } };
  } else {
    const schema = jsonSchema(op.output, 'output');
    for (const code of op.statuses) responses[String(code)] = { description: code === 201 ? 'Created' : code === 503 ? 'Not ready' : 'OK', content: { 'application/json': { schema } } };
  }
  responses['400'] = ERROR;
  if (op.access.on !== 'public') {
    responses['401'] = { $ref: '#/components/responses/Unauthorized' };
    responses['403'] = ERROR;
  }
  if (takesBody(op.method)) responses['413'] = ERROR;
  if (op.access.on === 'tenant') responses['429'] = ERROR;
  responses.default = ERROR;
  return responses;
}

function describe(op: OperationDef): string {
  const access = op.access;
  const who =
    access.on === 'public'
      ? 'No key needed.'
      : access.on === 'session'
        ? 'The MCP session is authorised when it opens (role reader at least) and bound to its key, database and tenant.'
        : `Least role: ${ROLE_MATRIX[access.permission]}.`;
  const tool = !isRaw(op) && op.tool ? ` MCP tool: \`${op.tool.name}\`.` : '';
  return `${who}${tool}`;
}

/**
 * The OpenAPI 3.1 document, generated from the operation table: every route the router serves,
 * with its operationId, parameters, request and response schemas and error envelope.
 */
export function openApiDocument(version: string, origin: string, operations: readonly OperationDef[] = OPERATIONS): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of operations) {
    pathsOf(op).forEach((path, index) => {
      const body = requestBodyOf(op, path);
      (paths[path] ??= {})[op.method.toLowerCase()] = {
        operationId: index === 0 ? op.name : `${op.name}Alias${index > 1 ? index : ''}`,
        summary: index === 0 ? op.summary : `${op.summary} (alias of ${op.path})`,
        description: describe(op),
        tags: [tagOf(op)],
        parameters: parametersOf(op, path),
        ...(body ? { requestBody: body } : {}),
        responses: responsesOf(op),
        ...(op.access.on === 'public' ? { security: [] } : {}),
      };
    });
  }
  const envelope = {
    type: 'object',
    required: ['code', 'message', 'details', 'type'],
    properties: {
      code: { type: 'string', enum: Object.keys(HTTP_STATUS) },
      message: { type: 'string' },
      details: { anyOf: [{ type: 'object' }, { type: 'null' }] },
      type: { type: 'string', enum: [...new Set(Object.values(ERROR_TYPES))] },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Vesper',
      version,
      description: 'Multi-tenant knowledge and fact store for AI agents. Errors are one envelope {code, message, details, type}; codes and statuses: ' +
        Object.entries(HTTP_STATUS).map(([code, status]) => `${code} ${status}`).join(', ') + '.',
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-UNLICENSED' },
    },
    servers: [{ url: origin, description: 'this server' }],
    tags: TAGS,
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <admin key or vsp_sk_/vsp_pk_ key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: { Error: envelope },
      responses: {
        Error: { description: 'Error envelope', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        Unauthorized: {
          description: 'No key, or an invalid, revoked or expired key',
          headers: { 'WWW-Authenticate': { description: 'Bearer realm="vesper"', schema: { type: 'string' } } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}
