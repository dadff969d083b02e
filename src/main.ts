import { loadConfig } from './config.js';
import { VesperError } from './domain/errors.js';
import { startServer } from './server.js';

/** Entry point: configuration from the environment, then the server; SIGTERM/SIGINT shut down gracefully. */
const config = loadConfig();
const server = await startServer(config).catch((error: unknown) => {
  // A full disk or an unusable database server was already said in one log line: exit without a stack trace.
  if (error instanceof VesperError && (error.code === 'STORAGE_FULL' || error.code === 'STORAGE_UNAVAILABLE')) process.exit(1);
  throw error;
});
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
