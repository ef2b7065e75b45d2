import type pg from 'pg';

/** One trivial round trip: resolves when the database answers, rejects when it does not. */
export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('select 1');
}
