import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';

export type Database = NodePgDatabase<typeof schema>;
/** A database handle or an open transaction: repositories accept either. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

// numeric stays a string (exact decimals); int8 counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DatabaseHandle {
  pool: pg.Pool;
  db: Database;
}

export function connect(url: string, options: { max?: number } = {}): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 20,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'stakeweight',
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out one: it has none of the pool's listeners, and node-postgres emits 'error' on it
  // when the server goes away while no statement runs on it (between a transaction's statements, in
  // inClientTransaction, drizzle's db.transaction or under the migration lock). Without a listener
  // that is an uncaught error and the process stops; with one, the statements that follow fail and
  // the pool discards the client when it comes back.
  pool.on('connect', (client) => client.on('error', () => {}));
  return { pool, db: drizzle(pool, { schema }) };
}

/** A transaction on a dedicated client, for work that streams (cursors, COPY) as well as queries. */
export interface ClientTransaction {
  client: pg.PoolClient;
  tx: Database;
}

/** The pool under a database handle: for the few that need a connection of their own (LISTEN, a session lock). */
export function poolOf(db: Database): pg.Pool {
  const client: unknown = (db as Database & { $client?: unknown }).$client;
  // A client transaction's own handle runs on one client, not a pool: it cannot start another.
  if (!(client instanceof pg.Pool)) throw new Error('poolOf needs the database handle made by connect(), not a transaction');
  return client;
}

/**
 * Runs `fn` in a transaction on a client of the database's pool, so a service holds one handle
 * (the Database) and still gets a raw client when it streams. `readOnlySnapshot`: one
 * repeatable-read snapshot that writes nothing (reads that must agree with each other).
 */
export async function inClientTransaction<T>(
  source: Database | pg.Pool,
  fn: (t: ClientTransaction) => Promise<T>,
  options: { readOnlySnapshot?: boolean } = {},
): Promise<T> {
  const client = await (source instanceof pg.Pool ? source : poolOf(source)).connect();
  let broken: Error | undefined;
  try {
    await client.query(options.readOnlySnapshot ? 'begin isolation level repeatable read read only' : 'begin');
    const result = await fn({ client, tx: drizzle(client, { schema }) });
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch((e: Error) => {
      broken = e;
    });
    throw error;
  } finally {
    // A client whose rollback failed is broken: release destroys it instead of pooling it.
    client.release(broken);
  }
}
