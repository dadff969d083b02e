import { ConflictError, ValidationError, VesperError } from '../domain/errors.js';
import { EXPORT_FORMAT, EXPORT_VERSION, ExportLine } from '../contract/portability.js';
import { parseRule } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { FactDatabase } from '../store/fact-database.js';
import { type ImportChunk, type ImportedFact, importChunk } from '../store/tenant-import.js';
import type { PurgeCounts, PurgeMatch } from '../store/tenant-purge.js';
import type { Clock } from './clock.js';
import type { RuleService } from './rules.js';
import type { TenantGate } from './tenant-gate.js';

/** Facts per transaction of an import: memory stays bounded whatever the size of the file. */
const CHUNK = 2000;

export interface ImportCounts {
  scopes: number;
  rules: number;
  facts: number;
  sessions: number;
  accessCounts: number;
}

const noCounts = (): ImportCounts => ({ scopes: 0, rules: 0, facts: 0, sessions: 0, accessCounts: 0 });

/**
 * Export and import of one tenant as JSON lines. An export reads through one snapshot and writes
 * line by line (the caller's `write` waits for the socket): constant memory. An import fills an
 * empty tenant in chunks while the tenant is closed to requests; a bad line stops it, the tenant
 * is emptied again, and the error names the line: nothing of a failed import stays visible.
 */
export class PortabilityService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
    private readonly gate: TenantGate,
  ) {}

  async export(databaseName: string, tenant: string, write: (line: string) => Promise<void>): Promise<ImportCounts> {
    await using lease = await this.catalog.forRead(databaseName);
    const database = lease.database;
    const now = this.clock();
    const counts = noCounts();
    const line = (value: ExportLine) => write(`${JSON.stringify(value)}\n`);
    await line({ kind: 'header', format: EXPORT_FORMAT, version: EXPORT_VERSION, database: databaseName, tenant, exportedAt: now });
    if (database.hasTenant(tenant)) {
      await database.tenant(tenant).read(now, async (reads) => {
        const all = reads.view(null);
        const scopes = all?.kind === 'all' ? all.scopes : [];
        for (const scope of scopes) {
          await line({ kind: 'scope', name: scope.name, base: scope.base, createdAt: scope.createdAt });
          counts.scopes++;
        }
        for (const rule of await reads.rules()) {
          await line({ kind: 'rule', id: rule.id, text: rule.text, scope: rule.scope, createdAt: rule.createdAt });
          counts.rules++;
        }
        for (const scope of scopes) {
          for await (const { fact } of reads.allFacts({ kind: 'scope', scope }, { now, includeInvisible: true })) {
            const { predicate, args, negated, version, confidence, createdAt, updatedAt, ttl, expiresAt, validFrom, validUntil, metadata } = fact;
            await line({ kind: 'fact', scope: scope.name, predicate, args: [...args], negated, version, confidence, createdAt, updatedAt, ttl, expiresAt, validFrom, validUntil, metadata });
            counts.facts++;
          }
        }
        for await (const [id, session] of reads.sessions()) {
          const entries = session.entries.map(({ predicate, args, negated, scope, digest }) => ({ predicate, args: [...args], negated, scope, digest }));
          await line({ kind: 'session', id, windowId: session.windowId, createdAt: session.createdAt, lastUsedAt: session.lastUsedAt, entries });
          counts.sessions++;
        }
        for await (const [fact, count] of reads.accessCounts()) {
          await line({ kind: 'access', fact, count });
          counts.accessCounts++;
        }
      });
    }
    await line({ kind: 'end', ...counts });
    return counts;
  }

  /** Restore an export into a tenant with no facts and no rules; the tenant's requests wait (409) meanwhile. */
  async import(databaseName: string, tenant: string, lines: AsyncIterable<string>): Promise<ImportCounts> {
    await using lease = await this.catalog.forWrite(databaseName);
    const database = lease.database;
    const reopen = await this.gate.close(databaseName, tenant, 'imported');
    const existed = database.hasTenant(tenant);
    try {
      await this.mustBeEmpty(database, tenant);
      return await this.restore(database, tenant, lines);
    } catch (error) {
      await this.undo(database, tenant, existed);
      throw error;
    } finally {
      this.rules.forget(databaseName, tenant);
      reopen();
    }
  }

  /**
   * Erase every trace of a value from a tenant (an erasure request): one transaction while the
   * tenant is closed to its requests, so no request reads half of it or writes the value back
   * meanwhile. The audit trail records the purge by its counts only, never the value.
   */
  async purge(databaseName: string, tenant: string, match: PurgeMatch, actor: string | null): Promise<PurgeCounts> {
    await using lease = await this.catalog.forWrite(databaseName);
    const database = lease.database;
    if (!database.hasTenant(tenant)) return { facts: 0, history: 0, events: 0, sessions: 0, accessCounts: 0 };
    const reopen = await this.gate.close(databaseName, tenant, 'purged');
    try {
      const store = database.tenant(tenant);
      return await store.erase(this.clock(), async (tx) => {
        const counts = await tx.purge(match);
        tx.event({ op: 'tenant_purged', actor, target: tenant, outcome: 'ok', details: { ...counts } });
        return counts;
      });
    } finally {
      this.rules.forget(databaseName, tenant);
      reopen();
    }
  }

  private async mustBeEmpty(database: FactDatabase, tenant: string): Promise<void> {
    if (!database.hasTenant(tenant)) return;
    const store = database.tenant(tenant);
    const registry = await store.scopes(this.clock());
    const rules = await store.read(this.clock(), (reads) => reads.rules());
    if (registry.totalFacts() > 0 || rules.length > 0 || registry.all().length > 1) {
      throw new ConflictError(`tenant '${tenant}' is not empty: an import restores into an empty tenant only`, { database: database.name, tenant });
    }
  }

  private async restore(database: FactDatabase, tenant: string, lines: AsyncIterable<string>): Promise<ImportCounts> {
    const store = database.tenant(tenant);
    const counts = noCounts();
    type Chunk = { scopes: ImportChunk['scopes'][number][]; rules: ImportChunk['rules'][number][]; facts: ImportedFact[]; lines: number[]; sessions: NonNullable<ImportChunk['sessions']>[number][]; accessCounts: NonNullable<ImportChunk['accessCounts']>[number][] };
    const empty = (): Chunk => ({ scopes: [], rules: [], facts: [], lines: [], sessions: [], accessCounts: [] });
    let chunk = empty();
    const flush = async () => {
      const pending = chunk;
      chunk = empty();
      const duplicate = await store.transaction(this.clock(), (tx) => importChunk(tx, pending));
      if (duplicate >= 0) throw badLine(pending.lines[duplicate] ?? 0, 'the same fact twice in one scope');
    };
    let number = 0;
    let ended = false;
    for await (const text of lines) {
      number++;
      if (text.trim() === '') continue;
      if (ended) throw badLine(number, 'a line after the end line');
      const value = parseLine(text, number);
      if (number === 1 ? value.kind !== 'header' : value.kind === 'header') throw badLine(number, number === 1 ? 'the first line must be the header' : 'a second header');
      if (value.kind === 'scope') {
        chunk.scopes.push({ name: value.name, createdAt: value.createdAt });
        counts.scopes++;
      } else if (value.kind === 'rule') {
        try {
          parseRule(value.text);
        } catch (error) {
          throw badLine(number, `rule does not parse: ${error instanceof Error ? error.message : String(error)}`);
        }
        chunk.rules.push({ id: value.id, text: value.text, scope: value.scope, createdAt: value.createdAt });
        counts.rules++;
      } else if (value.kind === 'fact') {
        const { scope, predicate, args, negated, kind: _kind, ...record } = value;
        chunk.facts.push({ scope, key: { predicate, args, negated }, record });
        chunk.lines.push(number);
        counts.facts++;
        if (chunk.facts.length >= CHUNK) await flush();
      } else if (value.kind === 'session') {
        const { kind: _kind, id, ...record } = value;
        chunk.sessions.push({ id, record });
        counts.sessions++;
        if (chunk.sessions.length >= CHUNK / 10) await flush();
      } else if (value.kind === 'access') {
        chunk.accessCounts.push({ identity: value.fact, count: value.count });
        counts.accessCounts++;
        if (chunk.accessCounts.length >= CHUNK) await flush();
      } else if (value.kind === 'end') {
        const [sessions, accessCounts] = [value.sessions ?? 0, value.accessCounts ?? 0];
        if (value.facts !== counts.facts || value.rules !== counts.rules || value.scopes !== counts.scopes || sessions !== counts.sessions || accessCounts !== counts.accessCounts) {
          throw badLine(
            number,
            `the end line counts ${value.scopes} scopes, ${value.rules} rules, ${value.facts} facts, ${sessions} sessions, ${accessCounts} access counts; the file holds ${counts.scopes}, ${counts.rules}, ${counts.facts}, ${counts.sessions}, ${counts.accessCounts}`,
          );
        }
        ended = true;
      }
    }
    if (!ended) throw badLine(number + 1, 'the export ends without its end line (cut off?)');
    await flush();
    return counts;
  }

  /** A failed import leaves the tenant as it was: empty (and unregistered, if it did not exist). */
  private async undo(database: FactDatabase, tenant: string, existed: boolean): Promise<void> {
    if (!database.hasTenant(tenant)) return;
    await database.clearTenant(tenant);
    if (!existed) await database.unregisterTenant(tenant);
  }
}

function parseLine(text: string, number: number): ExportLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badLine(number, 'not JSON');
  }
  const parsed = ExportLine.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badLine(number, `${issue?.path.join('.') || '(line)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function badLine(line: number, problem: string): VesperError {
  return new ValidationError(`import line ${line}: ${problem}; nothing was imported`, { line });
}
