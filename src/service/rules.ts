import { randomBytes } from 'node:crypto';
import { ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.js';
import { type CompiledProgram, type Rule, compileProgram, formatRule, parseJsonRule, parseRule, parseRules } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { EventDraft } from '../store/event-log.js';
import type { FactDatabase } from '../store/fact-database.js';
import type { RuleRecord } from '../store/rule-records.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';

export interface RuleView {
  readonly id: string;
  readonly rule: string;
  readonly system: boolean;
  readonly scope: string | null;
}

/** A rule as an add request returns it: `created` false when the same rule (same text after normalisation, same scope) was there. */
export interface AddedRule {
  readonly id: string;
  readonly rule: string;
  readonly scope: string | null;
  readonly created: boolean;
}

const MAX_RULES_PER_REQUEST = 1000;
/** Programs (and "no rules here") kept across requests: one per tenant and scope asked, this many at most. */
const MAX_CACHED_PROGRAMS = 10_000;

/** Ids sort by creation (time, then a per-process sequence), so rules list in the order they were added. */
let sequence = 0;
function newRuleId(now: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `rule_${now.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBytes(3).toString('hex')}`;
}

/** The cache key of a tenant's program for a scope (null: every scope). */
const programKey = (address: TenantAddress, scope: string | null) => `${address.database}/${address.tenant}/${scope ?? ''}`;

function withId(record: RuleRecord): Rule {
  return { ...parseRule(record.text), id: record.id };
}

/**
 * Two layers of rules: database rules (admin; shared by every tenant, `system: true`, not
 * changeable through a tenant) and tenant rules. One program per query: both layers, tenant
 * rules filtered to the scope asked. Compiled programs are cached until a rule changes.
 */
export class RuleService {
  private readonly databaseRules = new Map<string, RuleRecord[]>();
  private readonly tenantRules = new Map<string, RuleRecord[]>();
  /** Programs by tenant and scope; null: no rule applies there (most tenants), cached too, or every ask would look. */
  private readonly programs = new Map<string, CompiledProgram | null>();
  /**
   * Bumped by every forget(): a read of the rules that overlapped a change (begun before it
   * committed, ended after) is used by its request but not cached, or the change would stay
   * invisible. The window is one batch commit: microseconds on LevelDB, a round trip on PostgreSQL.
   */
  private generation = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
  ) {
    // Shared storage: rules another process changed (seen by catchUp below, or by any request's lease).
    catalog.lifecycle.on('changed', (database: string) => this.forget(database));
    catalog.lifecycle.on('tenant-changed', (database: string, tenant: string) => this.forget(database, tenant));
  }

  /** Shared storage: before cached rules are trusted, learn whether another process committed to the tenant or the database. */
  private async catchUp(address: TenantAddress): Promise<void> {
    if (!this.catalog.shared) return;
    await using lease = await this.catalog.forRead(address.database);
    await lease.database.tenant(address.tenant).catchUp();
  }

  private async rulesOfDatabase(database: FactDatabase): Promise<RuleRecord[]> {
    let rules = this.databaseRules.get(database.name);
    if (!rules) {
      const generation = this.generation;
      rules = await database.databaseRules();
      if (generation === this.generation) this.databaseRules.set(database.name, rules);
    }
    return rules;
  }

  private async rulesOfTenant(database: FactDatabase, tenant: string): Promise<RuleRecord[]> {
    const key = `${database.name}/${tenant}`;
    let rules = this.tenantRules.get(key);
    if (!rules) {
      const generation = this.generation;
      rules = database.hasTenant(tenant) ? await database.tenant(tenant).read(this.clock(), (reader) => reader.rules()) : [];
      if (generation === this.generation) {
        this.tenantRules.set(key, rules);
        if (this.tenantRules.size > MAX_CACHED_PROGRAMS) this.tenantRules.delete(this.tenantRules.keys().next().value as string);
      }
    }
    return rules;
  }

  /** Drop cached rules and programs (a tenant or database was deleted, or rules changed). */
  forget(database: string, tenant?: string): void {
    this.generation++;
    if (tenant === undefined) this.databaseRules.delete(database);
    else this.tenantRules.delete(`${database}/${tenant}`);
    for (const key of this.programs.keys()) if (key.startsWith(`${database}/`)) this.programs.delete(key);
  }

  /** programFor when the answer is cached (undefined otherwise), without waiting: the hot path of a point ask. */
  programNow(address: TenantAddress, scope: string | null): CompiledProgram | null | undefined {
    if (this.catalog.shared) return undefined; // another process may have changed the rules: programFor catches up first
    return this.programs.get(programKey(address, scope));
  }

  /** The program for a query: database rules, then the tenant's rules for that scope (or all scopes). */
  async programFor(address: TenantAddress, scope: string | null): Promise<CompiledProgram | null> {
    const key = programKey(address, scope);
    if (this.catalog.shared) await this.catchUp(address);
    const cached = this.programs.get(key);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    const records = [...(await this.rulesOfDatabase(database)), ...(await this.rulesOfTenant(database, address.tenant))];
    const applicable = records.filter((r) => r.scope === null || scope === null || r.scope === scope);
    // Scopes with the same rules share one program object: an all-scope ask reuses the answers
    // of a scope with the same program and the same reads (query.ts).
    const same = `${address.database}/${address.tenant}#${applicable.map((r) => r.id).join(',')}`;
    const program = applicable.length === 0 ? null : (this.programs.get(same) ?? compileProgram(applicable.map(withId)));
    // Rules read across a change are used once, not kept (see generation).
    if (generation === this.generation) {
      if (program !== null) this.remember(same, program);
      this.remember(key, program);
    }
    return program;
  }

  /** Bounded: the least recently added programs go first (a Map iterates in insertion order). */
  private remember(key: string, program: CompiledProgram | null): void {
    this.programs.delete(key);
    this.programs.set(key, program);
    if (this.programs.size > MAX_CACHED_PROGRAMS) this.programs.delete(this.programs.keys().next().value as string);
  }

  async list(address: TenantAddress): Promise<RuleView[]> {
    await this.catchUp(address);
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    const system = (await this.rulesOfDatabase(database)).map((r) => view(r, true));
    return [...system, ...(await this.rulesOfTenant(database, address.tenant)).map((r) => view(r, false))];
  }

  /** `POST /teach`: one rule as JSON. */
  async teach(address: TenantAddress, json: { head: unknown; body: unknown }, scope: string | null): Promise<AddedRule> {
    const [added] = await this.addTenantRules(address, [parseJsonRule(json)], scope);
    if (!added) throw new TypeError('one rule in, one rule out');
    return added;
  }

  /** `POST /rules`: many rules in text form. */
  addTenantText(address: TenantAddress, text: string, scope: string | null): Promise<AddedRule[]> {
    return this.addTenantRules(address, parseRulesBounded(text), scope);
  }

  private async addTenantRules(address: TenantAddress, rules: Rule[], scope: string | null): Promise<AddedRule[]> {
    await using lease = await this.catalog.forWrite(address.database);
    const database = lease.database;
    const tenant = database.tenant(address.tenant);
    const { added, stored } = await tenant.transaction(this.clock(), async (tx) => {
      const own = await this.rulesOfTenant(database, address.tenant);
      const { added, records } = this.dedupe(rules, scope, own);
      if (records.length === 0) return { added, stored: false };
      compileProgram([...(await this.rulesOfDatabase(database)), ...own, ...records].map(withId)); // whole-program checks before anything is stored
      const events = records.map((r): EventDraft => ({ op: 'rule_taught', actor: address.actor ?? null, target: r.id, outcome: 'ok', scope, details: { rule: r.text } }));
      for (const record of records) tx.putRule(record);
      for (const event of events) tx.event(event);
      return { added, stored: true };
    });
    // Once committed: forgotten inside the transaction, a read between then and the commit would cache the old rules.
    if (stored) this.forget(address.database, address.tenant);
    return added;
  }

  /**
   * Rules are a set: a rule whose normalised text is already stored for the same scope (or given
   * twice in one request) is answered with the stored one, and only new rules become records.
   */
  private dedupe(rules: Rule[], scope: string | null, existing: readonly RuleRecord[]): { added: AddedRule[]; records: RuleRecord[] } {
    const known = new Map(existing.filter((r) => r.scope === scope).map((r) => [r.text, r]));
    const now = this.clock();
    const added: AddedRule[] = [];
    const records: RuleRecord[] = [];
    for (const rule of rules) {
      const text = formatRule(rule);
      const found = known.get(text);
      if (found) {
        if (!records.includes(found)) added.push({ id: found.id, rule: found.text, scope: found.scope, created: false });
        continue;
      }
      const record: RuleRecord = { id: newRuleId(now), text, scope, createdAt: now };
      known.set(text, record);
      records.push(record);
      added.push({ id: record.id, rule: text, scope, created: true });
    }
    return { added, records };
  }

  async removeTenantRule(address: TenantAddress, id: string): Promise<void> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if ((await this.rulesOfDatabase(database)).some((r) => r.id === id)) {
      throw new ForbiddenError(`rule '${id}' is a database rule: only an admin can change it`, { id });
    }
    if (!(await this.rulesOfTenant(database, address.tenant)).some((r) => r.id === id)) {
      throw new NotFoundError(`rule '${id}' does not exist`, { id });
    }
    const tenant = database.tenant(address.tenant);
    const event: EventDraft = { op: 'rule_deleted', actor: address.actor ?? null, target: id, outcome: 'ok' };
    await tenant.transaction(this.clock(), async (tx) => {
      tx.deleteRule(id);
      tx.event(event);
    });
    this.forget(address.database, address.tenant);
  }

  async listDatabaseRules(databaseName: string): Promise<RuleView[]> {
    await using lease = await this.catalog.forRead(databaseName);
    return (await this.rulesOfDatabase(lease.database)).map((r) => view(r, true));
  }

  /** Admin: add database rules (text form), checked as one program with the rules already there. */
  async addDatabaseText(databaseName: string, text: string): Promise<AddedRule[]> {
    await using lease = await this.catalog.forWrite(databaseName);
    const database = lease.database;
    const existing = await this.rulesOfDatabase(database);
    const { added, records } = this.dedupe(parseRulesBounded(text), null, existing);
    if (records.length === 0) return added;
    compileProgram([...existing, ...records].map(withId));
    await database.putDatabaseRules(records);
    this.forget(databaseName);
    return added;
  }

  async removeDatabaseRule(databaseName: string, id: string): Promise<void> {
    await using lease = await this.catalog.forRead(databaseName);
    const database = lease.database;
    if (!(await this.rulesOfDatabase(database)).some((r) => r.id === id)) throw new NotFoundError(`rule '${id}' does not exist`, { id });
    await database.deleteDatabaseRule(id);
    this.forget(databaseName);
  }

}

function parseRulesBounded(text: string): Rule[] {
  const rules = parseRules(text);
  if (rules.length === 0) throw new ValidationError('no rules in text', { field: 'text' });
  if (rules.length > MAX_RULES_PER_REQUEST) throw new ValidationError(`at most ${MAX_RULES_PER_REQUEST} rules per request`, { field: 'text' });
  return rules;
}

function view(record: RuleRecord, system: boolean): RuleView {
  return { id: record.id, rule: record.text, system, scope: record.scope };
}
