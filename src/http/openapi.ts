import { z } from 'zod';
import { RetractSchema, TellSchema } from '../contract/facts.js';
import { CreateKeySchema } from '../contract/keys.js';
import { AskSchema } from '../contract/query.js';
import { RulesTextSchema, TeachSchema } from '../contract/rules.js';
import { DiffSchema, ForkSchema, MergeSchema } from '../contract/scopes.js';
import { ROLE_MATRIX, type Operation } from '../service/authorization.js';

interface RouteDoc {
  readonly method: 'get' | 'post' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly operation: Operation | null;
  readonly body?: z.ZodType;
  readonly tenant?: boolean;
}

/** The documented routes; request schemas are the same zod contracts the handlers parse with. */
const ROUTES: RouteDoc[] = [
  { method: 'post', path: '/tell', summary: 'Store facts (upsert, all or nothing)', operation: 'tell', body: TellSchema, tenant: true },
  { method: 'post', path: '/retract', summary: 'Retract a fact or a pattern', operation: 'retract', body: RetractSchema, tenant: true },
  { method: 'post', path: '/ask', summary: 'Query one pattern or a conjunction, with rules', operation: 'ask', body: AskSchema, tenant: true },
  { method: 'post', path: '/teach', summary: 'Add a tenant rule (JSON form)', operation: 'rules.write', body: TeachSchema, tenant: true },
  { method: 'post', path: '/rules', summary: 'Add tenant rules (text form)', operation: 'rules.write', body: RulesTextSchema, tenant: true },
  { method: 'get', path: '/rules', summary: 'List database and tenant rules', operation: 'rules.list', tenant: true },
  { method: 'delete', path: '/rules/{id}', summary: 'Delete a tenant rule', operation: 'rules.write', tenant: true },
  { method: 'get', path: '/scopes', summary: 'List scopes', operation: 'scopes.list', tenant: true },
  { method: 'post', path: '/scope/fork', summary: 'Fork a scope (O(1))', operation: 'scopes.write', body: ForkSchema, tenant: true },
  { method: 'post', path: '/scope/diff', summary: 'Diff two scopes', operation: 'scopes.diff', body: DiffSchema, tenant: true },
  { method: 'post', path: '/scope/merge', summary: 'Three-way merge of a scope into another', operation: 'scopes.write', body: MergeSchema, tenant: true },
  { method: 'delete', path: '/scope/{name}', summary: 'Delete a scope', operation: 'scopes.write', tenant: true },
  { method: 'get', path: '/audit', summary: "The tenant's audit trail", operation: 'audit.read', tenant: true },
  { method: 'post', path: '/databases', summary: 'Create a database (alias of /admin/databases)', operation: 'admin.global' },
  { method: 'get', path: '/databases', summary: 'List databases', operation: 'admin.database' },
  { method: 'delete', path: '/admin/databases/{db}', summary: 'Delete a database', operation: 'admin.global' },
  { method: 'get', path: '/admin/databases/{db}/tenants', summary: 'List tenants', operation: 'admin.database' },
  { method: 'post', path: '/admin/databases/{db}/tenants', summary: 'Create a tenant', operation: 'admin.database' },
  { method: 'delete', path: '/admin/databases/{db}/tenants/{name}', summary: 'Delete a tenant and all its data', operation: 'admin.database' },
  { method: 'get', path: '/admin/databases/{db}/rules', summary: 'List database rules', operation: 'admin.database' },
  { method: 'post', path: '/admin/databases/{db}/rules', summary: 'Add database rules (text form)', operation: 'admin.database', body: RulesTextSchema },
  { method: 'post', path: '/auth/keys', summary: 'Create an API key (secret shown once)', operation: 'admin.global', body: CreateKeySchema },
  { method: 'get', path: '/auth/keys', summary: 'List API keys (no secrets)', operation: 'admin.global' },
  { method: 'delete', path: '/auth/keys/{id}', summary: 'Revoke an API key', operation: 'admin.global' },
  { method: 'get', path: '/health', summary: 'Liveness (no key needed)', operation: null },
  { method: 'get', path: '/ready', summary: 'Readiness', operation: 'ops.read' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', operation: 'ops.read' },
];

const ENVELOPE = {
  type: 'object',
  required: ['code', 'message', 'details', 'type'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: {}, type: { type: 'string' } },
};

/** OpenAPI 3.1 document built from the route table and the zod contracts. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const parameters = [
      ...(route.tenant ? [{ name: 'X-Tenant-ID', in: 'header', required: true, schema: { type: 'string' } }] : []),
      { name: 'X-Database', in: 'header', required: false, schema: { type: 'string', default: 'default' } },
    ];
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      description: route.operation ? `Least role: ${ROLE_MATRIX[route.operation]}.` : 'No key needed.',
      parameters,
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) } } } } : {}),
      responses: { '200': { description: 'OK' }, default: { description: 'Error', content: { 'application/json': { schema: ENVELOPE } } } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Vesper', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
  };
}
