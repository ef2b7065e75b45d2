import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClientTransaction } from '../../src/db/client.js';
import { withMigrationLock } from '../../src/db/migrate.js';
import { listenForDeliveries } from '../../src/db/webhooks.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/*
 * The database going away under a connection the service holds across statements (a restart, a
 * terminated backend). node-postgres reports it as an 'error' event on the client, and an 'error'
 * event without a listener is an uncaught exception: the whole process stops. Each connection here
 * is terminated by the server while no statement runs on it, as a restart does.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

type Client = pg.PoolClient & { processID: number; connection: NodeJS.EventEmitter };

/** Terminates the client's backend from another connection and waits until the client has seen its connection end. */
async function terminate(client: Client): Promise<void> {
  const ended = new Promise((resolve) => client.once('end', resolve));
  await db.pool.query('select pg_terminate_backend($1)', [client.processID]);
  await ended;
}

/** What the kernel reports when the server has already closed the socket: a second error for the same connection. */
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe('a connection lost while held', () => {
  it('fails the transaction it was in, and the pool goes on with new connections', async () => {
    const outcome = inClientTransaction(db.db, async ({ client }) => {
      await client.query('select 1');
      await terminate(client as Client);
      await client.query('select 1');
    });
    await expect(outcome).rejects.toThrow();
    expect((await db.pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('fails a drizzle transaction (db.transaction) it was in, and the pool goes on with new connections', async () => {
    let held: Client | undefined;
    db.pool.once('acquire', (client: pg.PoolClient) => (held = client as Client));
    const outcome = db.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await terminate(held!);
      await tx.execute(sql`select 1`);
    });
    await expect(outcome).rejects.toThrow();
    expect((await db.pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('fails the work under the migration lock, and the lock is free for the next holder', async () => {
    const outcome = withMigrationLock(db.pool, async (client) => {
      await terminate(client as Client);
      await client.query('select 1');
    });
    await expect(outcome).rejects.toThrow();
    expect(await withMigrationLock(db.pool, async () => 'held')).toBe('held');
  });

  it('re-opens the deliveries listener, and a reset of the dead socket afterwards is no uncaught error (the pool listens once it is released)', async () => {
    const acquired: Client[] = [];
    const onAcquire = (client: pg.PoolClient) => acquired.push(client as Client);
    db.pool.on('acquire', onAcquire);
    let notified = 0;
    let wake = () => {};
    const notifications = (count: number) =>
      new Promise<void>((resolve) => {
        wake = () => notified >= count && resolve();
        wake();
      });
    const stop = listenForDeliveries(
      db.pool,
      () => {
        notified += 1;
        wake();
      },
      10,
    );
    try {
      // The listener runs its callback once it listens, in case a notification came before.
      await notifications(1);
      const listener = acquired[0];
      await terminate(listener);
      await notifications(2);
      expect(acquired.filter((c) => c !== listener).some((c) => c.processID !== listener.processID)).toBe(true);
      expect(() => listener.connection.emit('error', reset())).not.toThrow();
      // The new connection hears a notification.
      await db.pool.query("select pg_notify('stakeweight_deliveries', '')");
      await notifications(3);
    } finally {
      db.pool.off('acquire', onAcquire);
      await stop();
    }
  });
});
