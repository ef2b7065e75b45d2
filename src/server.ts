import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { closeDatabase, openDatabase } from './db/index.js';
import { createLogger } from './logger.js';
import { buildServices, migrateData } from './services/index.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL);
  const database = await openDatabase(config, log);
  const services = buildServices(config, database.db);
  await migrateData(database.db, services).catch((error: unknown) => log.error({ err: error }, 'a data migration failed; it is tried again at the next start'));
  const app = await buildApp({ config, db: database.db, services, logger: log, scheduler: true, deliveries: { databaseUrl: database.url } });

  // On SIGTERM or SIGINT (or an uncaught error): stop accepting, finish in-flight requests, close
  // the pool; exit 0, or 1 after an error or when it takes longer than 30 s.
  closeWithGrace(
    { delay: 30_000, logger: { error: (message: unknown) => log.error({ err: message }, 'shutdown') } },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'uncaught error: shutting down');
      else log.info({ signal }, 'shutting down: finishing in-flight requests');
      await app.close();
      await services.close();
      await closeDatabase(database);
      log.info('stopped');
    },
  );

  await app.listen({ port: config.PORT, host: config.HOST });
  log.info({ docs: `http://localhost:${config.PORT}/docs` }, 'Stakeweight is ready');
}

main().catch((error) => {
  process.stderr.write(`Stakeweight failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
