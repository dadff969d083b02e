import { z } from 'zod';
import { NameSchema, PredicateSchema, TermSchema } from '../contract/facts.js';
import { CreateKeySchema } from '../contract/keys.js';
import {
  AuditReply,
  DatabaseCreatedReply,
  DatabaseDeletedReply,
  DatabasesReply,
  HealthReply,
  KeyCreatedReply,
  KeyRevokedReply,
  KeysReply,
  ReadyReply,
  TenantCreatedReply,
  TenantDeletedReply,
  TenantPurgedReply,
  TenantsReply,
} from '../contract/replies.js';
import { grants } from '../domain/principal.js';
import { READS, controlOperation, tenantOperation } from './define.js';

/* The control plane (databases, tenants, keys), the audit trail and the probes. */

const Database = z.strictObject({ db: NameSchema });

export const createDatabase = controlOperation({
  name: 'createDatabase',
  method: 'POST',
  path: '/databases',
  aliases: ['/admin/databases'],
  summary: 'Create a database (201; 200 when it exists)',
  access: { on: 'service', permission: 'admin.global' },
  input: z.strictObject({ name: NameSchema }),
  output: DatabaseCreatedReply,
  effects: { readOnly: false, destructive: false, idempotent: true },
  status: { codes: [201, 200], pick: (reply) => (reply.created ? 201 : 200) },
  async handler({ name }, { services }) {
    const { database, created } = await services.databases.create(name);
    return { ...database, created };
  },
});

export const listDatabases = controlOperation({
  name: 'listDatabases',
  method: 'GET',
  path: '/databases',
  aliases: ['/admin/databases'],
  summary: 'List the databases this key may use',
  access: { on: 'service', permission: 'admin.database' },
  input: z.strictObject({}),
  output: DatabasesReply,
  effects: READS,
  async handler(_input, { services, principal }) {
    return { databases: (await services.databases.list()).filter((d) => grants(principal.databases, d.name)) };
  },
});

export const deleteDatabase = controlOperation({
  name: 'deleteDatabase',
  method: 'DELETE',
  path: '/databases/{db}',
  aliases: ['/admin/databases/{db}'],
  summary: 'Delete a database and all its tenants',
  access: { on: 'service', permission: 'admin.global' },
  input: Database,
  output: DatabaseDeletedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  async handler({ db }, { services }) {
    const keys = await services.databases.drop(db);
    return { deleted: true as const, name: db, keys };
  },
});

export const listTenants = controlOperation({
  name: 'listTenants',
  method: 'GET',
  path: '/admin/databases/{db}/tenants',
  summary: 'List the tenants of a database',
  access: { on: 'database', permission: 'admin.database' },
  input: Database,
  output: TenantsReply,
  effects: READS,
  async handler({ db }, { services }) {
    return { database: db, tenants: (await services.tenants.list(db)).map((name) => ({ name })) };
  },
});

export const createTenant = controlOperation({
  name: 'createTenant',
  method: 'POST',
  path: '/admin/databases/{db}/tenants',
  summary: 'Create a tenant (201; 200 when it exists)',
  access: { on: 'database', permission: 'admin.database' },
  input: Database.extend({ name: NameSchema }),
  output: TenantCreatedReply,
  effects: { readOnly: false, destructive: false, idempotent: true },
  status: { codes: [201, 200], pick: (reply) => (reply.created ? 201 : 200) },
  async handler({ db, name }, { services, principal }) {
    const created = await services.tenants.create(db, name);
    if (created) await services.audit.recordAdmin({ database: db, tenant: name, actor: principal.id }, 'tenant_created', name);
    return { database: db, name, created };
  },
});

export const deleteTenant = controlOperation({
  name: 'deleteTenant',
  method: 'DELETE',
  path: '/admin/databases/{db}/tenants/{name}',
  summary: 'Delete a tenant and all its data (facts, scopes, sessions, rules, keys)',
  access: { on: 'database', permission: 'admin.database' },
  input: Database.extend({ name: NameSchema }),
  output: TenantDeletedReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  async handler({ db, name }, { services }) {
    const keys = await services.tenants.delete(db, name);
    return { deleted: true as const, database: db, name, keys };
  },
});

export const purgeTenant = controlOperation({
  name: 'purgeTenant',
  method: 'POST',
  path: '/admin/databases/{db}/tenants/{name}/purge',
  summary: 'Erase every trace of a value (an erasure request): facts with it in their args in every scope and layer, their history, retrieval data, access counts and session entries, and the events that mention it; audited by counts only',
  access: { on: 'database', permission: 'admin.database' },
  input: Database.extend({
    name: NameSchema,
    match: z.strictObject({
      // One value, found as any argument; the array leaves room for matching several later.
      args: z.tuple([TermSchema]),
      predicate: PredicateSchema.optional(),
    }),
  }),
  output: TenantPurgedReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  async handler({ db, name, match }, { services, principal }) {
    const purged = await services.portability.purge(db, name, { value: match.args[0], ...(match.predicate === undefined ? {} : { predicate: match.predicate }) }, principal.id);
    return { database: db, name, purged };
  },
});

export const createKey = controlOperation({
  name: 'createKey',
  method: 'POST',
  path: '/auth/keys',
  summary: 'Create an API key (the secret is shown once)',
  access: { on: 'service', permission: 'admin.global' },
  input: CreateKeySchema,
  output: KeyCreatedReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  status: 201,
  async handler(body, { services }) {
    const { key, secret } = await services.keys.create({
      role: body.role,
      databases: body.databases,
      tenants: body.tenants,
      description: body.description ?? null,
      name: body.name ?? null,
      expiresAt: body.expiresAt,
      public: body.public,
    });
    return { ...key, key: secret };
  },
});

export const listKeys = controlOperation({
  name: 'listKeys',
  method: 'GET',
  path: '/auth/keys',
  summary: 'List API keys (no secrets)',
  access: { on: 'service', permission: 'admin.global' },
  input: z.strictObject({}),
  output: KeysReply,
  effects: READS,
  async handler(_input, { services }) {
    await services.keys.reload();
    return { keys: services.keys.list() };
  },
});

export const revokeKey = controlOperation({
  name: 'revokeKey',
  method: 'DELETE',
  path: '/auth/keys/{id}',
  summary: 'Revoke an API key (effective on the next request)',
  access: { on: 'service', permission: 'admin.global' },
  input: z.strictObject({ id: z.string().regex(/^key_[a-z0-9]{16}$/, 'invalid key id') }),
  output: KeyRevokedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  async handler({ id }, { services }) {
    await services.keys.revoke(id);
    return { revoked: true as const, id };
  },
});

export const readAudit = tenantOperation({
  name: 'readAudit',
  method: 'GET',
  path: '/audit',
  summary: "The tenant's audit trail (who did what, when), after `since`",
  access: { on: 'tenant', permission: 'audit.read' },
  input: z.strictObject({ limit: z.number().int().min(1).max(10_000).default(100), since: z.number().int().min(0).default(0) }),
  output: AuditReply,
  effects: READS,
  async handler({ limit, since }, address, { services }) {
    const events = await services.audit.read(address, since, limit);
    return { events, next: events.at(-1)?.seq ?? since };
  },
});

export const health = controlOperation({
  name: 'health',
  method: 'GET',
  path: '/health',
  summary: 'Liveness (no key needed)',
  access: { on: 'public' },
  input: z.strictObject({}),
  output: HealthReply,
  effects: READS,
  async handler(_input, { server }) {
    return { status: 'ok' as const, version: server.version, auth: server.auth };
  },
});

export const ready = controlOperation({
  name: 'ready',
  method: 'GET',
  path: '/ready',
  summary: 'Readiness (503 while starting or shutting down); `storage: full` while a full disk refuses writes (reads still work)',
  access: { on: 'service', permission: 'ops.read' },
  input: z.strictObject({}),
  output: ReadyReply,
  effects: READS,
  status: { codes: [200, 503], pick: (reply) => (reply.ready ? 200 : 503) },
  async handler(_input, { server }) {
    // A full disk leaves the server ready (reads work) but says that writes are refused.
    return { ready: server.ready(), storage: server.databases().storageFull ? ('full' as const) : ('ok' as const) };
  },
});
