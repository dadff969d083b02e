import { ConflictError } from '../domain/errors.js';
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportLineV2,
  type ExportLineV3,
  type ExportVersion,
  encodeExportLine,
} from '../contract/portability.js';
import type { Catalog } from '../store/catalog.js';
import type { FactDatabase } from '../store/fact-database.js';
import type { TenantStore } from '../store/tenant-store.js';
import { type ImportChunk, type ImportedFact, importChunk } from '../store/tenant-import.js';
import type { PurgeCounts, PurgeMatch } from '../store/tenant-purge.js';
import type { Clock } from './clock.js';
import type { RuleService } from './rules.js';
import type { TenantGate } from './tenant-gate.js';
import type { DimensionsOf } from './retrieval/dimensions.js';
import { CHUNK, type FinishImport, type ImportCounts, type NumberedLine, badLine, decode, entryFields, finishing, noCounts, restoreLayers, ruleOf } from './import-lines.js';

export type { ImportCounts } from './import-lines.js';

/**
 * Export and import of one tenant as JSON lines (contract/portability.ts). An export reads
 * through one snapshot and writes line by line (the caller's `write` waits for the socket):
 * constant memory. It carries the scope layout (layers, chains, merge bases, cutoffs), the
 * entries of every layer and their logged versions, so that every read, diff and merge of the
 * copy answers as the original. An import fills an empty tenant in chunks while the tenant is
 * closed to requests; the layers it fills belong to no scope until its last transaction installs
 * the layout. A bad line stops it, the tenant is emptied again, and the error names the line:
 * nothing of a failed import stays visible. A server that dies midway leaves a marker written
 * before the first chunk: the tenant is emptied at the next open, or by another process sharing
 * the storage at its next request to it (store/pending-imports.ts).
 */
export class PortabilityService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
    private readonly gate: TenantGate,
    /** The database's declared embedding length: imported embeddings must have it, as told ones must. */
    private readonly dimensionsOf: DimensionsOf = async () => null,
  ) {}

  /** `sessions: false` leaves the context sessions out (the end line then counts none). */
  async export(databaseName: string, tenant: string, write: (line: string) => Promise<void>, options: { readonly sessions?: boolean } = {}): Promise<ImportCounts> {
    await using lease = await this.catalog.forRead(databaseName);
    const database = lease.database;
    const now = this.clock();
    const counts = noCounts();
    let bytes = 0;
    const line = (value: ExportLineV3) => write(encodeExportLine(value));
    await line({ kind: 'header', format: EXPORT_FORMAT, version: EXPORT_VERSION, database: databaseName, tenant, exportedAt: now });
    if (database.hasTenant(tenant)) {
      await database.tenant(tenant).read(now, async (reads) => {
        const registry = reads.registry;
        // The layers some scope reads or keeps as a merge base (a retired layer awaiting collection is not exported).
        const layers = [...registry.layerUse().keys()].sort((a, b) => a - b);
        for (const id of layers) {
          await line({ kind: 'layer', id, facts: registry.countOf([id]) });
          counts.layers++;
        }
        for (const scope of registry.all()) {
          const { name, base, createdAt, chain, merges, cutoffs } = scope;
          const merged = merges === undefined || Object.keys(merges).length === 0 ? {} : { merges: Object.fromEntries(Object.entries(merges).map(([k, v]) => [k, [...v]])) };
          await line({ kind: 'scope', name, base, createdAt, chain: [...chain], ...merged, ...(cutoffs === undefined ? {} : { cutoffs: { ...cutoffs } }) });
          counts.scopes++;
        }
        for (const rule of await reads.rules()) {
          await line({ kind: 'rule', id: rule.id, text: rule.text, scope: rule.scope, createdAt: rule.createdAt });
          counts.rules++;
        }
        const wanted = new Set(layers);
        for await (const { key, layer, entry, embedding } of reads.layerEntries(wanted)) {
          const vector = embedding && entry.kind === 'record' ? { embedding: Array.from(embedding) } : {};
          await line({ kind: 'entry', layer, predicate: key.predicate, args: [...key.args], negated: key.negated, ...entryFields(entry), ...vector });
          if (entry.kind === 'record') counts.facts++;
          else counts.retractions++;
        }
        for await (const { key, layer, versions } of reads.layerHistory(wanted)) {
          const logged = versions.map(({ time, actor, version, entry }) => ({ time, actor, version, ...entryFields(entry) }));
          await line({ kind: 'history', layer, predicate: key.predicate, args: [...key.args], negated: key.negated, versions: logged });
          counts.versions += versions.length;
        }
        for await (const [id, session] of options.sessions === false ? [] : reads.sessions()) {
          const entries = session.entries.map(({ predicate, args, negated, scope, digest }) => ({ predicate, args: [...args], negated, scope, digest }));
          await line({ kind: 'session', id, windowId: session.windowId, createdAt: session.createdAt, lastUsedAt: session.lastUsedAt, entries });
          counts.sessions++;
        }
        for await (const [fact, count] of reads.accessCounts()) {
          await line({ kind: 'access', fact, count });
          counts.accessCounts++;
        }
        bytes = registry.storedBytes;
      });
    }
    await line({ kind: 'end', ...counts, bytes });
    return counts;
  }

  /** Restore an export into a tenant with no facts and no rules; the tenant's requests wait (409) meanwhile. */
  async import(databaseName: string, tenant: string, lines: AsyncIterable<string>): Promise<ImportCounts> {
    await using lease = await this.catalog.forWrite(databaseName);
    const database = lease.database;
    const reopen = await this.gate.close(databaseName, tenant, 'imported');
    try {
      // Checked before the pending-import marker is written: refusing a tenant that holds facts must leave them alone.
      return await database.imports.run(
        tenant,
        () => this.mustBeEmpty(database, tenant),
        (held) => this.restore(database, tenant, lines, finishing(held)),
      );
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
    // Through read: on shared storage it first catches up with what other processes wrote to the tenant.
    const { registry, rules } = await database.tenant(tenant).read(this.clock(), async (reads) => ({ registry: reads.registry, rules: await reads.rules() }));
    if (registry.totalFacts() > 0 || rules.length > 0 || registry.all().length > 1) {
      throw new ConflictError(`tenant '${tenant}' is not empty: an import restores into an empty tenant only`, { database: database.name, tenant });
    }
  }

  private async restore(database: FactDatabase, tenant: string, lines: AsyncIterable<string>, finish: FinishImport): Promise<ImportCounts> {
    const store = database.tenant(tenant);
    const numbered = numberedLines(lines)[Symbol.asyncIterator]();
    const first = await numbered.next();
    if (first.done) throw badLine(1, 'the first line must be the header');
    const { number, text } = first.value;
    const header = decode(text, number, null);
    if (number !== 1 || header.line.kind !== 'header') throw badLine(number, 'the first line must be the header');
    const version = header.line.version;
    const rest = { [Symbol.asyncIterator]: () => numbered };
    return version === 3 ? restoreLayers(store, rest, await this.dimensionsOf(database.name, tenant), this.clock, finish) : this.restoreScopes(store, version, rest, finish);
  }

  /**
   * Versions 1 and 2: the facts of each scope, flattened; scopes come back as roots (no layout to
   * restore: diffs between them compare whole scopes).
   */
  private async restoreScopes(store: TenantStore, version: ExportVersion, lines: AsyncIterable<NumberedLine>, finish: FinishImport): Promise<ImportCounts> {
    const counts = noCounts();
    type Chunk = { scopes: ImportChunk['scopes'][number][]; rules: ImportChunk['rules'][number][]; facts: ImportedFact[]; lines: number[]; sessions: NonNullable<ImportChunk['sessions']>[number][]; accessCounts: NonNullable<ImportChunk['accessCounts']>[number][] };
    const empty = (): Chunk => ({ scopes: [], rules: [], facts: [], lines: [], sessions: [], accessCounts: [] });
    let chunk = empty();
    const flush = async (last = false) => {
      const pending = chunk;
      chunk = empty();
      const duplicate = await store.transaction(this.clock(), async (tx) => {
        const found = await importChunk(tx, pending);
        if (last && found < 0) finish(tx);
        return found;
      });
      if (duplicate >= 0) throw badLine(pending.lines[duplicate] ?? 0, 'the same fact twice in one scope');
    };
    let last = 1;
    let ended = false;
    for await (const { number, text } of lines) {
      last = number;
      if (ended) throw badLine(number, 'a line after the end line');
      const value = decode(text, number, version).line as ExportLineV2;
      if (value.kind === 'header') throw badLine(number, 'a second header');
      if (value.kind === 'scope') {
        chunk.scopes.push({ name: value.name, createdAt: value.createdAt });
        counts.scopes++;
      } else if (value.kind === 'rule') {
        chunk.rules.push(ruleOf(value, number));
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
    if (!ended) throw badLine(last + 1, 'the export ends without its end line (cut off?)');
    await flush(true);
    return counts;
  }

}

async function* numberedLines(lines: AsyncIterable<string>): AsyncGenerator<NumberedLine> {
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim() !== '') yield { number, text };
  }
}

