import { createServer, type Server } from 'node:http';
import type { Knex } from 'knex';
import { createApp } from './app.js';
import { bootstrap, SETUP_LINK_TTL_MS } from './auth/bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { describeDatabaseUrl, migrate, openDb } from './db.js';
import { createScheduler } from './directory/users/offboarding/scheduler.js';
import { pruneExpiredSessions } from './http/session-store.js';
import { createLogger } from './log.js';
import { sessionSecretFor } from './secret.js';
import { checkpointInBackground } from './sqlite-checkpoints.js';

const SHUTDOWN_GRACE_MS = 10_000;
const PRUNE_EVERY_MS = 60 * 60_000;

async function prepareDatabase(db: Knex, url: string): Promise<void> {
  try {
    await migrate(db);
  } catch (err) {
    throw new ConfigError(`DATABASE_URL: cannot use ${describeDatabaseUrl(url)}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`PORT: cannot listen on ${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)),
    );
    server.listen(port, resolve);
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = openDb(config.databaseUrl);
  try {
    await prepareDatabase(db, config.databaseUrl);
    const { setupLink } = await bootstrap(db, config);
    const app = createApp({ config, db, logger, sessionSecret: sessionSecretFor(config.sessionSecret) });
    const http = createServer(app);
    await listen(http, config.port);
    logger.info({ port: config.port, database: describeDatabaseUrl(config.databaseUrl) }, `Roster listening on ${config.publicUrl}`);
    if (setupLink) {
      console.log(
        `\nNo administrator can log in yet. Within ${SETUP_LINK_TTL_MS / 60_000} minutes, open this one-time link `
          + `to set the password of "${config.bootstrap.username}":\n\n  ${setupLink}\n`,
      );
    }
    const stopCheckpoints = await checkpointInBackground(db, config.databaseUrl);
    // Every process runs the scheduler; the lease in the database lets one of them do the work.
    const scheduler = createScheduler(db, config, logger);
    scheduler.start();
    const prune = setInterval(
      () => pruneExpiredSessions(db).catch((err) => logger.warn({ err }, 'session pruning failed')),
      PRUNE_EVERY_MS,
    );
    prune.unref();
    void pruneExpiredSessions(db).catch(() => {});

    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      clearInterval(prune);
      http.close(() => {
        Promise.all([scheduler.stop(), stopCheckpoints()])
          .then(() => db.destroy())
          .finally(() => process.exit(0));
      });
      http.closeIdleConnections();
      setTimeout(() => {
        logger.warn('grace period over: closing remaining connections');
        http.closeAllConnections();
      }, SHUTDOWN_GRACE_MS).unref();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
