import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { LOCK_KEY } from './locks.js';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * 0003 was first released as two migrations (0003_key_checked_write, then 0004_raw_encoding,
 * applied at this `when`) and later rewritten as one with a later `when`. A database the two
 * migrated already holds what the rewritten 0003 makes, but drizzle goes by `when` and would apply
 * it again, failing on the column that exists. Such a database gets it recorded as applied; 0008
 * drops the extra store_submission overload the first release left.
 */
const FIRST_RELEASE_0004_WHEN = 1795556462865;
const REWRITTEN_0003 = { tag: '0003_key_check_raw_encoding', when: 1795560610523 };

async function adoptFirstRelease0003(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!rows[0].present) return;
  const applied = await client.query<{ created_at: string | number }>('select created_at from drizzle.__drizzle_migrations');
  const whens = new Set(applied.rows.map((r) => Number(r.created_at)));
  if (!whens.has(FIRST_RELEASE_0004_WHEN) || whens.has(REWRITTEN_0003.when)) return;
  const text = await readFile(path.join(MIGRATIONS_DIR, `${REWRITTEN_0003.tag}.sql`), 'utf8');
  // The hash drizzle records: the sha256 of the file's text.
  await client.query('insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)', [
    createHash('sha256').update(text).digest('hex'),
    REWRITTEN_0003.when,
  ]);
}

/*
 * Migrating takes the pool, not an Executor (a named exception): the migration lock is a session
 * lock, held on a connection of its own across several transactions.
 */

/**
 * Runs `fn` holding the migration session lock (on a connection of its own), so replicas starting
 * together run it one at a time.
 */
export async function withMigrationLock<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY.migration]);
    try {
      return await fn(client);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [LOCK_KEY.migration]);
    }
  } finally {
    client.release();
  }
}

/**
 * Applies pending migrations under the migration lock, so replicas starting together apply each
 * migration once; drizzle's own migrator takes no lock.
 */
export async function migrateDatabase(pool: pg.Pool): Promise<void> {
  await withMigrationLock(pool, async (client) => {
    await adoptFirstRelease0003(client);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
  });
}
