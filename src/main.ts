import { loadConfig } from './config.js';
import { startServer } from './server.js';

/** Entry point: configuration from the environment, then the server; SIGTERM/SIGINT shut down gracefully. */
const config = loadConfig();
const server = await startServer(config);
let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  server.logger.info({ signal }, 'shutting down');
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      server.logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
