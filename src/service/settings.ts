import { TenantNotFoundError, ValidationError } from '../domain/errors.js';
import { DATABASE_ONLY, SETTING_NAMES, SETTING_SCHEMAS, type SettingChanges, type SettingName, type SettingSource, type Settings } from '../contract/settings.js';
import type { Budget } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { SettingsRecord } from '../store/settings-records.js';

/** A query's evaluation budget from settings (0 = no limit: the field is absent). */
export function budgetOf(settings: Settings): Budget {
  return {
    ...(settings.queryTimeoutMs > 0 ? { timeMs: settings.queryTimeoutMs } : {}),
    ...(settings.maxTuples > 0 ? { maxTuples: settings.maxTuples } : {}),
    ...(settings.maxRows > 0 ? { maxRows: settings.maxRows } : {}),
  };
}

export interface SettingView {
  readonly value: unknown;
  readonly source: SettingSource;
}

/** A setting change about to be stored: a guard may refuse it (a typed error) before anything is written. */
export type SettingsGuard = (database: string, tenant: string | null, next: Readonly<Partial<Settings>>, previous: Readonly<Partial<Settings>>) => Promise<void> | void;

/** Effective settings cached for this many tenants at most (the least recently used go first). */
const MAX_CACHED = 10_000;

/** The key of a tenant's effective settings in the cache. */
const tenantKey = (database: string, tenant: string) => `${database}/${tenant}`;

/**
 * Policies with inheritance: server defaults (the configuration) → the database's settings → the
 * tenant's overrides. Stored in each database's META records; read once and cached, the cache
 * dropped on every change, so a change applies to the next request and survives a restart.
 */
export class SettingsService {
  private readonly effective = new Map<string, Settings>();
  private readonly databases = new Map<string, Partial<Settings>>();
  /** One change at a time per database: a PUT reads, merges and writes its record. */
  private readonly writing = new Map<string, Promise<unknown>>();
  private readonly guards: SettingsGuard[] = [];
  /** Bumped by every change: a read that started before one does not cache what it read. */
  private generation = 0;

  constructor(
    private readonly catalog: Catalog,
    /** The server's values: the configuration. */
    readonly defaults: Settings,
    /** Names `tier` may take. */
    private readonly tiers: ReadonlySet<string>,
  ) {
    // Shared storage: another process changed a database's settings (seen when a request leases it).
    catalog.lifecycle.on('changed', (database: string) => this.forget(database));
  }

  /** Checked on every change (e.g. embeddingDimensions fixed once facts carry embeddings). */
  addGuard(guard: SettingsGuard): void {
    this.guards.push(guard);
  }

  /** The settings a request of this tenant runs with, when they are cached (most requests): no promise to wait for. */
  cachedFor(database: string, tenant: string): Settings | undefined {
    return this.effective.get(tenantKey(database, tenant));
  }

  /** The settings a request of this tenant runs with: cheap (a map lookup) except after a change. */
  async forTenant(database: string, tenant: string): Promise<Settings> {
    const key = tenantKey(database, tenant);
    const cached = this.effective.get(key);
    if (cached) return cached;
    // A database that does not exist yet (first write creates it) has set nothing.
    if (!this.catalog.exists(database)) return this.defaults;
    const generation = this.generation;
    const { own, overrides } = await this.layers(database, tenant);
    const settings = { ...this.defaults, ...own, ...overrides };
    if (generation !== this.generation) return settings;
    if (this.effective.size >= MAX_CACHED) this.effective.delete(this.effective.keys().next().value as string);
    this.effective.set(key, settings);
    return settings;
  }

  async describeDatabase(database: string): Promise<Record<string, SettingView>> {
    const own = await this.databaseSettings(database);
    return Object.fromEntries(SETTING_NAMES.map((name) => [name, name in own ? { value: own[name], source: 'database' } : { value: this.defaults[name], source: 'server' }]));
  }

  async describeTenant(database: string, tenant: string): Promise<Record<string, SettingView>> {
    const { own, overrides } = await this.layers(database, tenant, true);
    const view = (name: SettingName): SettingView =>
      name in overrides ? { value: overrides[name], source: 'tenant' } : name in own ? { value: own[name], source: 'database' } : { value: this.defaults[name], source: 'server' };
    return Object.fromEntries(SETTING_NAMES.map((name) => [name, view(name)]));
  }

  /** Merge `changes` into the database's settings (null removes one). */
  async updateDatabase(database: string, changes: SettingChanges): Promise<void> {
    await this.serialised(database, async () => {
      await using lease = await this.catalog.forRead(database);
      const previous = this.valid(await lease.database.settings(null));
      const next = this.merge(previous, changes, false);
      for (const guard of this.guards) await guard(database, null, next, previous);
      await lease.database.putSettings(null, next);
      this.forget(database);
    });
  }

  /** Merge `changes` into the tenant's overrides (null removes one: the database's value applies again). */
  async updateTenant(database: string, tenant: string, changes: SettingChanges): Promise<void> {
    await this.serialised(database, async () => {
      await using lease = await this.catalog.forRead(database);
      if (!lease.database.hasTenant(tenant)) throw new TenantNotFoundError(tenant, database);
      const previous = this.valid(await lease.database.settings(tenant));
      const next = this.merge(previous, changes, true);
      for (const guard of this.guards) await guard(database, tenant, next, previous);
      await lease.database.putSettings(tenant, next);
      this.forget(database, tenant);
    });
  }

  /** Drop cached settings: of a tenant, or of a whole database and its tenants. */
  forget(database: string, tenant?: string): void {
    this.generation++;
    if (tenant !== undefined) {
      this.effective.delete(tenantKey(database, tenant));
      return;
    }
    this.databases.delete(database);
    for (const key of this.effective.keys()) if (key.startsWith(`${database}/`)) this.effective.delete(key);
  }

  private async databaseSettings(database: string): Promise<Partial<Settings>> {
    let own = this.databases.get(database);
    if (!own) {
      const generation = this.generation;
      await using lease = await this.catalog.forRead(database);
      own = this.valid(await lease.database.settings(null));
      if (generation === this.generation) this.databases.set(database, own);
    }
    return own;
  }

  private async layers(database: string, tenant: string, mustExist = false): Promise<{ own: Partial<Settings>; overrides: Partial<Settings> }> {
    const own = await this.databaseSettings(database);
    await using lease = await this.catalog.forRead(database);
    if (mustExist && !lease.database.hasTenant(tenant)) throw new TenantNotFoundError(tenant, database);
    return { own, overrides: this.valid(await lease.database.settings(tenant)) };
  }

  /** Stored values that still fit their setting (a name this server does not know, or a tier no longer configured, is ignored). */
  private valid(record: SettingsRecord): Partial<Settings> {
    const out: Record<string, unknown> = {};
    for (const name of SETTING_NAMES) {
      if (!(name in record)) continue;
      const parsed = SETTING_SCHEMAS[name].safeParse(record[name]);
      if (parsed.success && (name !== 'tier' || this.tiers.has(parsed.data as string))) out[name] = parsed.data;
    }
    return out as Partial<Settings>;
  }

  private merge(previous: Partial<Settings>, changes: SettingChanges, forTenant: boolean): Partial<Settings> {
    const next: Record<string, unknown> = { ...previous };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      if (!(name in SETTING_SCHEMAS)) throw new ValidationError(`unknown setting '${name}'`, { setting: name, known: SETTING_NAMES });
      const setting = name as SettingName;
      if (forTenant && DATABASE_ONLY.has(setting)) throw new ValidationError(`'${name}' is a setting of the database, not of a tenant`, { setting: name });
      if (value === null) {
        delete next[name];
        continue;
      }
      if (setting === 'tier' && !this.tiers.has(value as string)) {
        throw new ValidationError(`unknown tier '${String(value)}'`, { setting: name, tiers: [...this.tiers].sort() });
      }
      next[name] = value;
    }
    return next as Partial<Settings>;
  }

  private async serialised(database: string, work: () => Promise<void>): Promise<void> {
    const previous = this.writing.get(database) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(work);
    this.writing.set(database, run);
    try {
      await run;
    } finally {
      if (this.writing.get(database) === run) this.writing.delete(database);
    }
  }
}
