import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClassicLevel } from 'classic-level';
import { type Logger, pino } from 'pino';
import type { Config } from './config.js';
import type { Settings } from './contract/settings.js';
import { createApp } from './http/app.js';
import { answerClientErrors } from './http/client-errors.js';
import { type Clock, systemClock } from './service/clock.js';
import { type Services, createServices } from './service/services.js';
import { StorageFullError, StorageUnavailableError } from './domain/errors.js';
import { BackgroundRunner } from './store/background.js';
import { VectorIndexes } from './store/vector-index.js';
import { PgClient } from './store/backends/pg-client.js';
import { PgRateLimits } from './store/backends/pg-rate-limits.js';
import { PgStorage } from './store/backends/pg-storage.js';
import { Catalog, SYSTEM_DATABASE } from './store/catalog.js';
import { fileBudget, readOpenFileLimit } from './store/file-budget.js';
import { KeyStore } from './store/key-store.js';
import { Outbox } from './store/outbox.js';
import { LevelDirectories, type LevelDirectoryOptions, type StorageBackend } from './store/storage-backend.js';
import { freeBytes, isStorageFull, unavailableReason } from './store/storage-errors.js';
import { VERSION } from './version.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  readonly services: Services;
  /** Stop accepting, finish in-flight requests, close every database. */
  close(): Promise<void>;
}

const PRUNE_INTERVAL_MS = 3600_000;
/** Usage counted in memory reaches the databases this often (and at shutdown). */
const USAGE_FLUSH_MS = 5000;
/** Below this the disk counts as full (LevelDB needs room for a memtable flush). */
const MIN_FREE_BYTES = 4 * 1024 * 1024;

/** Seams for tests of faults (a full disk: how a LevelDB is opened and how free space is measured) and of time (the services' clock). */
export interface StorageOverrides {
  readonly openLevel?: LevelDirectoryOptions['openLevel'];
  readonly freeBytes?: (dir: string) => Promise<number>;
  /** The services' notion of now (expiry tests move it); the system clock when absent. */
  readonly clock?: Clock;
}

/** PostgreSQL without a setting: each open database holds caches of its own (tenant handles, scope state), as on LevelDB. */
const PG_DEFAULT_MAX_OPEN_DATABASES = 200;

/** The storage backend of the configuration, what it is for the start-up log line, and what to end at shutdown. */
interface OpenedStorage {
  readonly backend: StorageBackend;
  readonly maxOpenDatabases: number;
  readonly described: Record<string, unknown>;
  /** The disk under the data directory can be measured (LevelDB only). */
  readonly localDisk: boolean;
  /** Request budgets shared by every process on the storage (PostgreSQL); absent: in this process's memory. */
  readonly rateLimits?: PgRateLimits;
  end(): Promise<void>;
}

function storageOf(config: Config, storage: StorageOverrides): OpenedStorage {
  if (config.backend.kind === 'postgres') {
    const { url, tablePrefix, poolSize } = config.backend;
    // VESPER_SYNC=0 has the LevelDB meaning here too: acknowledged writes survive a crash of Vesper,
    // and the server's WAL writer flushes them within ~3 × wal_writer_delay (synchronous_commit off).
    const client = new PgClient({ url, tablePrefix, poolSize, synchronousCommit: config.syncEveryWrite });
    return {
      backend: new PgStorage(client),
      rateLimits: new PgRateLimits(client),
      maxOpenDatabases: config.maxOpenDatabases > 0 ? config.maxOpenDatabases : PG_DEFAULT_MAX_OPEN_DATABASES,
      described: { backend: 'postgres', pg: pgServers(url), tablePrefix, pool: poolSize },
      localDisk: false,
      end: () => client.end(),
    };
  }
  const files = readOpenFileLimit();
  const budget = fileBudget(files.limit, config.maxOpenDatabases);
  return {
    backend: new LevelDirectories({
      dataDir: config.dataDir,
      maxOpenFiles: budget.maxOpenFiles,
      openLevel: storage.openLevel ?? ((location, options) => new ClassicLevel<string, string>(location, options)),
      freeBytes: storage.freeBytes ?? freeBytes,
      minFreeBytes: MIN_FREE_BYTES,
    }),
    maxOpenDatabases: budget.maxOpenDatabases,
    described: { backend: 'leveldb', data: config.dataDir, fileLimit: files.limit, maxOpenDatabases: budget.maxOpenDatabases, maxOpenFiles: budget.maxOpenFiles },
    localDisk: true,
    end: async () => undefined,
  };
}

/** host:port list and database of a postgres:// URL, for logs: never the user or password. */
function pgServers(url: string): string {
  const match = /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^/?]*)(\/[^?]*)?/.exec(url);
  return match ? `${match[1]}${match[2] ?? ''}` : '(unparsable URL)';
}

/** Composition root: open storage, build services and transports, recover, listen. */
export async function startServer(config: Config, logger: Logger = pino({ level: config.logLevel }), storage: StorageOverrides = {}): Promise<RunningServer> {
  const background = new BackgroundRunner(({ task, database, tenant, error }) => logger.error({ task, database, tenant, err: error }, 'background task failed'));
  const opened = storageOf(config, storage);
  // Derived state in memory (rebuilt from the stored embeddings after a restart): store/vector-index.ts.
  const vectorIndexes = config.vectorIndex === null ? null : new VectorIndexes(config.vectorIndex);
  const catalog = await openCatalog(config, opened, logger, background, vectorIndexes);
  const services = await startServices(config, catalog, opened, logger, background, storage.clock);
  // Said once the start cannot fail any more: a failed start says it in its own single line.
  if (catalog.stats().storageFull || (opened.localDisk && (await diskIsFull(config.dataDir, storage.freeBytes ?? freeBytes)))) {
    logger.error({ data: config.dataDir }, 'the disk of the data directory is full: reads are served, writes answer 507 STORAGE_FULL until space is freed');
  }
  let accepting = true;
  const { app, deps } = createApp({
    services,
    logger,
    maxBody: config.maxBodyBytes,
    authEnabled: config.adminKey !== null,
    rateLimit: config.rateLimit,
    ...(opened.rateLimits ? { limiters: opened.rateLimits.limiter } : {}),
    tiers: config.tiers,
    browser: { allowedHosts: config.allowedHosts, corsOrigins: config.corsOrigins, baseHost: config.baseHost },
    authFailureLimit: config.authFailureLimit,
    trustProxy: config.trustProxy,
    admission: config.admission,
    mcp: { idleMs: config.mcpIdleMs, maxSessionsPerKey: config.mcpMaxSessionsPerKey },
    ...(vectorIndexes ? { vectorIndexes: () => vectorIndexes.stats() } : {}),
    health: { version: VERSION, auth: config.adminKey ? 'enabled' : 'open', ready: () => accepting, databases: () => catalog.stats() },
  });
  const server: Server = app.listen(config.port, config.host);
  answerClientErrors(server, logger);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  // Hourly, whatever the server default: a database or tenant may set a retention of its own.
  const prune = () => services.audit.prune(async (database, tenant) => (await services.settings.forTenant(database, tenant)).eventRetentionDays * 24 * 3600 * 1000);
  const pruneHistory = () => services.history.prune(async (database, tenant) => (await services.settings.forTenant(database, tenant)).historyRetentionDays * 24 * 3600 * 1000);
  const pruner = setInterval(() => {
    void background.run('prune-events', {}, prune);
    void background.run('prune-history', {}, pruneHistory);
  }, PRUNE_INTERVAL_MS);
  pruner.unref();
  const sweep = () => services.context.sweepSessions();
  services.hooks.start();
  const meter = setInterval(() => void background.run('flush-usage', {}, () => services.usage.flush()), USAGE_FLUSH_MS);
  meter.unref();
  const sweeper = setInterval(() => void background.run('sweep-sessions', {}, sweep), services.context.sweepIntervalMs);
  sweeper.unref();
  // Expired sandboxes go within a tenth of their lifetime (at most a minute late, at least 50 ms apart).
  const sandboxSweeper = config.sandbox.enabled ? setInterval(() => void background.run('sweep-sandboxes', {}, () => services.sandbox.sweep()), Math.max(50, Math.min(60_000, config.sandbox.ttlMs / 10))) : null;
  sandboxSweeper?.unref();
  if (!config.adminKey) logger.warn('VESPER_ADMIN_KEY is not set: running OPEN (development mode), every request has admin rights');
  logger.info({ port, host: config.host, ...opened.described, sync: config.syncEveryWrite ? 'every write' : `group commit ${config.groupCommitMs} ms` }, 'vesper listening');
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    port,
    logger,
    services,
    close: async () => {
      accepting = false;
      clearInterval(pruner);
      clearInterval(sweeper);
      clearInterval(meter);
      if (sandboxSweeper) clearInterval(sandboxSweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await deps.streams.closeAll();
      const timeout = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timeout);
      services.hooks.stop();
      await services.usage.flush().catch((error: unknown) => logger.error({ err: error }, 'usage not flushed at shutdown'));
      await background.stop();
      await catalog.close();
      await opened.end();
    },
  };
}

/**
 * A full disk or an unreachable database server at start is one clear log line and a typed error
 * (main.ts exits 1 without a stack trace), not a LevelDB or driver stack trace.
 */
function startFailure(error: unknown, config: Config, logger: Logger): unknown {
  const reason = unavailableReason(error);
  if (reason !== null && config.backend.kind === 'postgres') {
    const cause = rootMessage(error);
    logger.fatal({ pg: pgServers(config.backend.url), cause }, `cannot start: PostgreSQL at ${pgServers(config.backend.url)} cannot be used (${cause}); check VESPER_PG_URL and that a primary is up`);
    return new StorageUnavailableError(reason, { cause: error });
  }
  if (!isStorageFull(error)) return error;
  logger.fatal({ data: config.dataDir, cause: error instanceof Error ? error.message : String(error) }, 'cannot start: the disk of the data directory is full; free space and start again');
  return new StorageFullError(SYSTEM_DATABASE, { cause: error });
}

/** The innermost message of a chain of causes (the driver's "connect ECONNREFUSED …"). */
function rootMessage(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 5; depth++) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

async function openCatalog(config: Config, opened: OpenedStorage, logger: Logger, background: BackgroundRunner, vectorIndexes: VectorIndexes | null): Promise<Catalog> {
  try {
    const catalog = await Catalog.open({
      background,
      ...(vectorIndexes ? { vectorIndexes } : {}),
      storage: opened.backend,
      durability: { syncEveryWrite: config.syncEveryWrite, groupCommitMs: config.groupCommitMs },
      strictDatabases: config.strictDatabases,
      maxOpenDatabases: opened.maxOpenDatabases,
      onError: (err, context) => logger.error({ err, ...context }, 'database background task failed'),
    });
    await opened.rateLimits?.prepare().catch(async (error: unknown) => {
      await catalog.close().catch(() => undefined);
      throw error;
    });
    return catalog;
  } catch (error) {
    await opened.end().catch(() => undefined);
    throw startFailure(error, config, logger);
  }
}

async function startServices(config: Config, catalog: Catalog, opened: OpenedStorage, logger: Logger, background: BackgroundRunner, clock: Clock = systemClock): Promise<Services> {
  try {
    const keyStore = await KeyStore.open(catalog.systemLevel, config.keyPepper, opened.backend.coordination !== undefined);
    const services = createServices({
      catalog,
      keyStore,
      adminKey: config.adminKey,
      clock,
      background,
      sessionIdleMs: config.sessionIdleMs,
      heavySlots: config.heavySlots,
      sandbox: config.sandbox,
      ...(opened.rateLimits ? { allowances: opened.rateLimits.limiter } : {}),
      ...(config.backend.kind === 'postgres' ? { eventPollMs: config.backend.eventPollMs } : {}),
      settings: { defaults: serverSettings(config), tiers: new Set(Object.keys(config.tiers)) },
      // The URL may carry a token: logged failures say what failed, never where or with what secret.
      hooks: { outbox: new Outbox(catalog.systemLevel), options: config.hooks },
    });
    const resumed = await services.tenants.resumeDeletions();
    if (resumed > 0) logger.warn({ resumed }, 'finished tenant deletions interrupted by a crash');
    return services;
  } catch (error) {
    await catalog.close().catch(() => undefined);
    await opened.end().catch(() => undefined);
    throw startFailure(error, config, logger);
  }
}

/** The server level of the settings: what a database or tenant that sets nothing gets. */
export function serverSettings(config: Config): Settings {
  return {
    tier: config.defaultTier,
    requestsPerWindow: null,
    overflow: 'reject',
    queueMaxMs: config.rateQueueMs,
    maxFacts: config.maxFacts,
    maxBytes: config.maxBytes,
    maxBodyBytes: config.maxBodyBytes,
    queryTimeoutMs: config.queryBudget.timeMs ?? 0,
    maxTuples: config.queryBudget.maxTuples ?? 0,
    maxRows: config.queryBudget.maxRows ?? 0,
    eventRetentionDays: config.eventRetentionMs / (24 * 3600 * 1000),
    historyRetentionDays: config.historyRetentionDays,
    sessionIdleMs: config.sessionIdleMs,
    contextMaxFacts: config.contextMaxFacts,
    transactionIdleSeconds: config.transactionIdleSeconds,
    maxOpenTransactions: config.maxOpenTransactions,
    embeddingDimensions: null,
    hooksUrl: config.hooks.url,
  };
}

async function diskIsFull(dataDir: string, probe: (dir: string) => Promise<number>): Promise<boolean> {
  return (await probe(dataDir).catch(() => Number.POSITIVE_INFINITY)) < MIN_FREE_BYTES;
}
