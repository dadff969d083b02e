import { SEP, escapeText } from './term-codec.js';
import { upperBound } from './fact-keys.js';

/**
 * Keys of control records. Tenant data lives in a sublevel named after the tenant; database-wide
 * records live in the META sublevel, whose name cannot be a tenant name ('~' is not allowed in names).
 */
export const META_SUBLEVEL = '~meta';

export const FORMAT_VERSION_KEY = 'format-version';
export const SYNC_MARKER_KEY = 'sync-marker';

const TENANT = 'T';
const SCOPE = 'S';
const COUNTER = 'C';

/** In META: one key per tenant of the database. */
export function tenantRegistryKey(tenant: string): string {
  return TENANT + SEP + tenant;
}

export function tenantRegistryRange(): { gte: string; lt: string } {
  return { gte: TENANT + SEP, lt: upperBound(TENANT + SEP) };
}

export function tenantFromRegistryKey(key: string): string {
  return key.slice(TENANT.length + SEP.length);
}

/** In a tenant sublevel: one record per scope. */
export function scopeKey(scope: string): string {
  return SCOPE + SEP + escapeText(scope);
}

export function scopeRange(): { gte: string; lt: string } {
  return { gte: SCOPE + SEP, lt: upperBound(SCOPE + SEP) };
}

/** In a tenant sublevel: named counters (the next layer id, …). */
export function counterKey(name: string): string {
  return COUNTER + SEP + name;
}

/** In a tenant sublevel: the fact-count delta of each layer. */
const LAYER_COUNT = 'N';

export function layerCountKey(layer: number): string {
  return LAYER_COUNT + SEP + layer.toString(36);
}

export function layerCountRange(): { gte: string; lt: string } {
  return { gte: LAYER_COUNT + SEP, lt: upperBound(LAYER_COUNT + SEP) };
}

export function layerOfCountKey(key: string): number {
  return Number.parseInt(key.slice(LAYER_COUNT.length + SEP.length), 36);
}

/** In the system database: one key per logical database. */
export function databaseRegistryKey(database: string): string {
  return 'D' + SEP + database;
}

export function databaseRegistryRange(): { gte: string; lt: string } {
  return { gte: 'D' + SEP, lt: upperBound('D' + SEP) };
}

/** Rules: in META for database rules, in the tenant sublevel for tenant rules. */
const RULE = 'R';

export function ruleKey(id: string): string {
  return RULE + SEP + id;
}

export function ruleRange(): { gte: string; lt: string } {
  return { gte: RULE + SEP, lt: upperBound(RULE + SEP) };
}

/** In a tenant sublevel: the event log, ordered by sequence number (fixed width, so text order is number order). */
const EVENT = 'E';
const SEQ_WIDTH = 11;

export function eventKey(seq: number): string {
  return EVENT + SEP + seq.toString(36).padStart(SEQ_WIDTH, '0');
}

export function eventRange(afterSeq = 0): { gt: string; lt: string } {
  return { gt: eventKey(afterSeq), lt: upperBound(EVENT + SEP) };
}

export function seqOfEventKey(key: string): number {
  return Number.parseInt(key.slice(EVENT.length + SEP.length), 36);
}

/**
 * In the system database, per database name: the highest event sequence number any tenant of a
 * dropped database of that name had. A database created again under the name starts its tenants'
 * counters above it, so a client resuming a change stream is never answered with reused numbers.
 */
export function eventFloorKey(database: string): string {
  return 'F' + SEP + database;
}

/** In META: the range of the per-tenant event counters (see eventSeqKey). */
export function eventSeqRange(): { gte: string; lt: string } {
  return { gte: 'Q' + SEP, lt: upperBound('Q' + SEP) };
}

/**
 * In META, on storage shared by several processes only: a stamp per tenant, rewritten by every
 * commit of the tenant, and one for the database, rewritten by every change of its registry of
 * tenants, settings or database rules. A process whose last seen stamp differs drops what it
 * cached (see FactDatabase.refreshShared and TenantStore.catchUp).
 */
export function tenantStampKey(tenant: string): string {
  return 'V' + SEP + tenant;
}

export const DATABASE_STAMP_KEY = 'database-stamp';

/**
 * In META, on shared storage: a random id written when the database's storage is first made. A
 * process that finds another id under its open handle knows the database was dropped and created
 * again by another process since it opened it (FactDatabase.refreshShared).
 */
export const DATABASE_INCARNATION_KEY = 'database-incarnation';

/** In the system database: API keys by id (hashes only), and the server's pepper for them. */
export function apiKeyRecordKey(id: string): string {
  return 'K' + SEP + id;
}

export function apiKeyRange(): { gte: string; lt: string } {
  return { gte: 'K' + SEP, lt: upperBound('K' + SEP) };
}

export const KEY_PEPPER_KEY = 'key-pepper';

/**
 * In META: the last event sequence number of each tenant. Kept outside the tenant's sublevel so
 * that neither pruning nor deleting the tenant takes it: a tenant written again continues above it.
 */
export function eventSeqKey(tenant: string): string {
  return 'Q' + SEP + tenant;
}

/**
 * In META: layers a scope change retired (flatten, scope deletion), written in the same batch as
 * the change and removed with the layer's keys. What a crash leaves here is collected at open.
 */
const GARBAGE = 'G';

export function retiredLayerKey(tenant: string, layer: number): string {
  return GARBAGE + SEP + tenant + SEP + layer.toString(36);
}

export function retiredLayerRange(tenant?: string): { gte: string; lt: string } {
  const prefix = tenant === undefined ? GARBAGE + SEP : GARBAGE + SEP + tenant + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

export function decodeRetiredLayerKey(key: string): { tenant: string; layer: number } {
  const [, tenant = '', layer = ''] = key.split(SEP);
  return { tenant, layer: Number.parseInt(layer, 36) };
}

/**
 * In META: a tenant an import is restoring into, from before the import's first write until the
 * write that installs its layout (or until a failed import is undone). A marker found while no
 * import runs (its process died) means the tenant holds half an import: it is emptied again
 * (store/pending-imports.ts). The value says whether the tenant existed before the import.
 */
const IMPORT = 'I';

export function pendingImportKey(tenant: string): string {
  return IMPORT + SEP + tenant;
}

export function pendingImportRange(): { gte: string; lt: string } {
  return { gte: IMPORT + SEP, lt: upperBound(IMPORT + SEP) };
}

export function tenantFromPendingImportKey(key: string): string {
  return key.slice(IMPORT.length + SEP.length);
}

/**
 * In META: settings (policies). One record holds the database's own settings; one per tenant holds
 * that tenant's overrides (taken with the tenant's registration when it is deleted).
 */
export const DATABASE_SETTINGS_KEY = 'P';

export function tenantSettingsKey(tenant: string): string {
  return 'O' + SEP + tenant;
}

/** In META: a tenant's usage of one UTC day ('YYYY-MM-DD', so text order is time order). */
const USAGE = 'U';

export function usageKey(tenant: string, day: string): string {
  return USAGE + SEP + tenant + SEP + day;
}

export function usageRange(tenant?: string): { gte: string; lt: string } {
  const prefix = tenant === undefined ? USAGE + SEP : USAGE + SEP + tenant + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

export function decodeUsageKey(key: string): { tenant: string; day: string } {
  const [, tenant = '', day = ''] = key.split(SEP);
  return { tenant, day };
}

/** In the system database: webhook deliveries not yet acknowledged (the outbox), by time-ordered id. */
export function outboxKey(id: string): string {
  return 'H' + SEP + id;
}

export function outboxRange(): { gte: string; lt: string } {
  return { gte: 'H' + SEP, lt: upperBound('H' + SEP) };
}

/** In the system database: claim tokens issued by an admin (HMAC of the secret, expiry, use), by id. */
export function claimKey(id: string): string {
  return 'A' + SEP + id;
}
