import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClassicLevel } from 'classic-level';
import { type Logger, pino } from 'pino';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { systemClock } from './service/clock.js';
import { type Services, createServices } from './service/services.js';
import { Catalog } from './store/catalog.js';
import { KeyStore } from './store/key-store.js';
import type { LevelDb } from './store/level-types.js';
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

/** Composition root: open storage, build services and transports, recover, listen. */
export async function startServer(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const catalog = await Catalog.open({
    dataDir: config.dataDir,
    durability: { syncEveryWrite: config.syncEveryWrite, groupCommitMs: config.groupCommitMs },
    strictDatabases: config.strictDatabases,
    openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
  });
  const keyStore = await KeyStore.open(catalog.systemLevel, config.keyPepper);
  const services = createServices({ catalog, keyStore, adminKey: config.adminKey, clock: systemClock });
  const resumed = await services.tenants.resumeDeletions();
  if (resumed > 0) logger.warn({ resumed }, 'finished tenant deletions interrupted by a crash');
  let accepting = true;
  const { app, deps } = createApp({
    services,
    logger,
    maxBody: config.maxBody,
    authEnabled: config.adminKey !== null,
    rateLimit: config.rateLimit,
    health: { version: VERSION, auth: config.adminKey ? 'enabled' : 'open', ready: () => accepting },
  });
  const server: Server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const pruner = config.eventRetentionMs > 0 ? setInterval(() => void services.audit.prune(config.eventRetentionMs).catch(() => undefined), PRUNE_INTERVAL_MS) : null;
  pruner?.unref();
  if (!config.adminKey) logger.warn('VESPER_ADMIN_KEY is not set: running OPEN (development mode), every request has admin rights');
  logger.info({ port, host: config.host, data: config.dataDir, sync: config.syncEveryWrite ? 'every write' : `group commit ${config.groupCommitMs} ms` }, 'vesper listening');
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    port,
    logger,
    services,
    close: async () => {
      accepting = false;
      if (pruner) clearInterval(pruner);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await deps.streams.closeAll();
      const timeout = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timeout);
      await catalog.close();
    },
  };
}
