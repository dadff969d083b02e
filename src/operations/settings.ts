import { z } from 'zod';
import { NameSchema } from '../contract/facts.js';
import { DatabaseSettingsChanges, DatabaseSettingsReply, TenantSettingsChanges, TenantSettingsReply, UsageReply } from '../contract/settings.js';
import { ForbiddenError } from '../domain/errors.js';
import { grants } from '../domain/principal.js';
import { READS, controlOperation } from './define.js';

/* Policies: a database's settings and a tenant's overrides of them (admin only: a tenant key gets 403). */

const Database = { db: NameSchema };
const Tenant = { db: NameSchema, name: NameSchema };

export const getDatabaseSettings = controlOperation({
  name: 'getDatabaseSettings',
  method: 'GET',
  path: '/admin/databases/{db}/settings',
  summary: "A database's settings: each value and where it comes from (`server` default or set on the `database`)",
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject(Database),
  output: DatabaseSettingsReply,
  effects: READS,
  async handler({ db }, { services }) {
    return { database: db, settings: await services.settings.describeDatabase(db) };
  },
});

export const putDatabaseSettings = controlOperation({
  name: 'putDatabaseSettings',
  method: 'PUT',
  path: '/admin/databases/{db}/settings',
  summary: "Set a database's settings (merged into what is set; `null` removes one); its tenants inherit them from the next request on",
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject({ ...Database, ...DatabaseSettingsChanges }),
  output: DatabaseSettingsReply,
  effects: { readOnly: false, destructive: false, idempotent: true },
  async handler({ db, ...changes }, { services }) {
    await services.settings.updateDatabase(db, changes);
    return { database: db, settings: await services.settings.describeDatabase(db) };
  },
});

export const getTenantSettings = controlOperation({
  name: 'getTenantSettings',
  method: 'GET',
  path: '/admin/databases/{db}/tenants/{name}/settings',
  summary: "A tenant's effective settings, each with its source: `server`, `database` or `tenant` (an override)",
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject(Tenant),
  output: TenantSettingsReply,
  effects: READS,
  async handler({ db, name }, { services }) {
    return { database: db, tenant: name, settings: await services.settings.describeTenant(db, name) };
  },
});

export const putTenantSettings = controlOperation({
  name: 'putTenantSettings',
  method: 'PUT',
  path: '/admin/databases/{db}/tenants/{name}/settings',
  summary: "Override settings for one tenant (merged; `null` removes an override, so the database's value applies again)",
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject({ ...Tenant, ...TenantSettingsChanges }),
  output: TenantSettingsReply,
  effects: { readOnly: false, destructive: false, idempotent: true },
  async handler({ db, name, ...changes }, { services }) {
    await services.settings.updateTenant(db, name, changes);
    return { database: db, tenant: name, settings: await services.settings.describeTenant(db, name) };
  },
});

/** A calendar day: the pattern alone let 2026-13-01 through, to be refused later as out of order. */
const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day, YYYY-MM-DD')
  .refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day), 'not a day of the calendar');

export const readUsage = controlOperation({
  name: 'readUsage',
  method: 'GET',
  path: '/admin/usage',
  summary: 'Usage per tenant and UTC day (requests by operation, rule-evaluation ms, rows read, facts and bytes stored) of a database, or of one tenant',
  access: { on: 'service', permission: 'admin.database' },
  input: z.strictObject({ database: NameSchema.default('default'), tenant: NameSchema.optional(), from: Day.optional(), to: Day.optional() }),
  output: UsageReply,
  effects: READS,
  async handler({ database, tenant, from, to }, { services, principal }) {
    if (!grants(principal.databases, database)) throw new ForbiddenError(`this key may not use database '${database}'`, { database });
    const days = await services.usage.read(database, tenant ?? null, from ?? null, to ?? null);
    return { database, tenant: tenant ?? null, days: days.map(({ database: _db, ...day }) => day) };
  },
});
