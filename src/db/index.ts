import type { Logger } from 'pino';
import pg from 'pg';
import type { Config } from '../config.js';
import { connect, type DatabaseHandle } from './client.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './embedded.js';
import { migrateDatabase } from './migrate.js';

export interface OpenDatabase extends DatabaseHandle {
  url: string;
  /** The embedded PostgreSQL this process started, stopped by `closeDatabase`; unset with DATABASE_URL. */
  embedded?: EmbeddedDatabase;
}

const EMBEDDED_DATABASE = 'stakeweight';

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name}"`).catch((e: { code?: string }) => {
      if (e.code !== '42P04') throw e; // another replica created it first
    });
  } finally {
    await client.end();
  }
}

/** DATABASE_URL when set, else an embedded PostgreSQL under DATA_DIR; migrated before use. */
export async function openDatabase(config: Config, log: Logger): Promise<OpenDatabase> {
  let url = config.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!url) {
    log.info({ dataDir: config.DATA_DIR }, 'DATABASE_URL is not set: starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres(config.DATA_DIR, { note: (message) => log.warn(message) });
    await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
    const own = new URL(embedded.url);
    own.pathname = `/${EMBEDDED_DATABASE}`;
    url = own.toString();
  }
  const database: OpenDatabase = { ...connect(url), url, ...(embedded ? { embedded } : {}) };
  try {
    await migrateDatabase(database.pool);
  } catch (error) {
    await closeDatabase(database);
    throw error;
  }
  return database;
}

/** Ends the pool, then stops the embedded PostgreSQL if this process started one. */
export async function closeDatabase(database: OpenDatabase): Promise<void> {
  await database.pool.end();
  await database.embedded?.stop();
}
