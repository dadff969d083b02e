import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClassicLevel } from 'classic-level';
import { type Logger, pino } from 'pino';
import type { Config } from './config.js';
import type { Settings } from './contract/settings.js';
import { createApp } from './http/app.js';
import { answerClientErrors } from './http/client-errors.js';
import { systemClock } from './service/clock.js';
import { type Services, createServices } from './service/services.js';
import { StorageFullError } from './domain/errors.js';
import { BackgroundRunner } from './store/background.js';
import { Catalog, type CatalogOptions, SYSTEM_DATABASE } from './store/catalog.js';
import { type FileBudget, fileBudget, readOpenFileLimit } from './store/file-budget.js';
import { KeyStore } from './store/key-store.js';
import { freeBytes, isStorageFull } from './store/storage-errors.js';
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
/** Below this the disk counts as full (LevelDB needs room for a memtable flush). */
const MIN_FREE_BYTES = 4 * 1024 * 1024;

/** Storage seams for tests of faults (a full disk): how a LevelDB is opened and how free space is measured. */
export interface StorageOverrides {
  readonly openLevel?: CatalogOptions['openLevel'];
  readonly freeBytes?: (dir: string) => Promise<number>;
}

/** Composition root: open storage, build services and transports, recover, listen. */
export async function startServer(config: Config, logger: Logger = pino({ level: config.logLevel }), storage: StorageOverrides = {}): Promise<RunningServer> {
  const background = new BackgroundRunner(({ task, database, tenant, error }) => logger.error({ task, database, tenant, err: error }, 'background task failed'));
  const files = readOpenFileLimit();
  const budget = fileBudget(files.limit, config.maxOpenDatabases);
  const catalog = await openCatalog(config, budget, logger, storage, background);
  const services = await startServices(config, catalog, logger, background);
  // Said once the start cannot fail any more: a failed start says it in its own single line.
  if (catalog.stats().storageFull || (await diskIsFull(config.dataDir, storage.freeBytes ?? freeBytes))) {
    logger.error({ data: config.dataDir }, 'the disk of the data directory is full: reads are served, writes answer 507 STORAGE_FULL until space is freed');
  }
  let accepting = true;
  const { app, deps } = createApp({
    services,
    logger,
    maxBody: config.maxBody,
    authEnabled: config.adminKey !== null,
    rateLimit: config.rateLimit,
    browser: { allowedHosts: config.allowedHosts, corsOrigins: config.corsOrigins },
    authFailureLimit: config.authFailureLimit,
    mcp: { idleMs: config.mcpIdleMs, maxSessionsPerKey: config.mcpMaxSessionsPerKey },
    health: { version: VERSION, auth: config.adminKey ? 'enabled' : 'open', ready: () => accepting, databases: () => catalog.stats() },
  });
  const server: Server = app.listen(config.port, config.host);
  answerClientErrors(server, logger);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const prune = () => services.audit.prune(config.eventRetentionMs);
  const pruner = config.eventRetentionMs > 0 ? setInterval(() => void background.run('prune-events', {}, prune), PRUNE_INTERVAL_MS) : null;
  pruner?.unref();
  const sweep = () => services.context.sweepSessions();
  const sweeper = setInterval(() => void background.run('sweep-sessions', {}, sweep), services.context.sweepIntervalMs);
  sweeper.unref();
  if (!config.adminKey) logger.warn('VESPER_ADMIN_KEY is not set: running OPEN (development mode), every request has admin rights');
  logger.info({ port, host: config.host, data: config.dataDir, fileLimit: files.limit, maxOpenDatabases: budget.maxOpenDatabases, maxOpenFiles: budget.maxOpenFiles, sync: config.syncEveryWrite ? 'every write' : `group commit ${config.groupCommitMs} ms` }, 'vesper listening');
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    port,
    logger,
    services,
    close: async () => {
      accepting = false;
      if (pruner) clearInterval(pruner);
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await deps.streams.closeAll();
      const timeout = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timeout);
      await background.stop();
      await catalog.close();
    },
  };
}

/** A full disk at start is one clear log line and a StorageFullError, not a LevelDB stack trace. */
function startFailure(error: unknown, config: Config, logger: Logger): unknown {
  if (!isStorageFull(error)) return error;
  logger.fatal({ data: config.dataDir, cause: error instanceof Error ? error.message : String(error) }, 'cannot start: the disk of the data directory is full; free space and start again');
  return new StorageFullError(SYSTEM_DATABASE, { cause: error });
}

async function openCatalog(config: Config, budget: FileBudget, logger: Logger, storage: StorageOverrides, background: BackgroundRunner): Promise<Catalog> {
  try {
    return await Catalog.open({
      background,
      dataDir: config.dataDir,
      durability: { syncEveryWrite: config.syncEveryWrite, groupCommitMs: config.groupCommitMs },
      strictDatabases: config.strictDatabases,
      maxOpenDatabases: budget.maxOpenDatabases,
      maxOpenFiles: budget.maxOpenFiles,
      openLevel: storage.openLevel ?? ((location, options) => new ClassicLevel<string, string>(location, options)),
      freeBytes: storage.freeBytes ?? freeBytes,
      minFreeBytes: MIN_FREE_BYTES,
      onError: (err, context) => logger.error({ err, ...context }, 'database background task failed'),
    });
  } catch (error) {
    throw startFailure(error, config, logger);
  }
}

async function startServices(config: Config, catalog: Catalog, logger: Logger, background: BackgroundRunner): Promise<Services> {
  try {
    const keyStore = await KeyStore.open(catalog.systemLevel, config.keyPepper);
    const services = createServices({ catalog, keyStore, adminKey: config.adminKey, clock: systemClock, background, sessionIdleMs: config.sessionIdleMs, queryBudget: config.queryBudget, settings: { defaults: serverSettings(config), tiers: new Set(Object.keys(config.tiers)) } });
    const resumed = await services.tenants.resumeDeletions();
    if (resumed > 0) logger.warn({ resumed }, 'finished tenant deletions interrupted by a crash');
    return services;
  } catch (error) {
    await catalog.close().catch(() => undefined);
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
    sessionIdleMs: config.sessionIdleMs,
    contextMaxFacts: config.contextMaxFacts,
    embeddingDimensions: null,
  };
}

async function diskIsFull(dataDir: string, probe: (dir: string) => Promise<number>): Promise<boolean> {
  return (await probe(dataDir).catch(() => Number.POSITIVE_INFINITY)) < MIN_FREE_BYTES;
}
