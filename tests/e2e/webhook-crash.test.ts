import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ok, probePool, until } from '../support/e2e.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';
import { startReceiver } from '../support/webhook-receiver.js';

/*
 * A replica killed (SIGKILL) in the middle of a delivery loses nothing: its queue job expires and
 * the restarted service delivers it, with the same webhook-id; deliveries written while no replica
 * ran are enqueued when one starts.
 */

const ADMIN = 'sw_e2e_webhook_crash_admin_key_0123456789';
const HOUR = 3_600_000;

let database: TestDatabase;
let probe: pg.Pool;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const servers: ServerProcess[] = [];
let hang = true;

beforeAll(async () => {
  database = await createTestDatabase();
  probe = probePool(database.url);
  receiver = await startReceiver(() => (hang ? 'hang' : 200));
});
afterAll(async () => {
  for (const server of servers) if (server.child.exitCode === null) await server.stop('SIGKILL');
  await probe?.end();
  await receiver?.close();
  await database.drop();
});

const env = () => ({
  DATABASE_URL: database.url,
  BOOTSTRAP_ADMIN_KEY: ADMIN,
  LOG_LEVEL: 'warn',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_TIMEOUT_MS: '60000',
  WEBHOOK_JOB_EXPIRE_SECONDS: '2',
  WEBHOOK_QUEUE_MAINTENANCE_SECONDS: '1',
});

describe('a replica killed while delivering', () => {
  it('loses no event: the restarted service delivers it with the same webhook-id', async () => {
    const first = await spawnServer(env());
    servers.push(first);
    const author = await ok<{ apiKey: string }>(first.url, 'POST', '/v1/accounts', ADMIN, { name: 'crash-author', role: 'author' });
    const operator = await ok<{ apiKey: string }>(first.url, 'POST', '/v1/accounts', ADMIN, { name: 'crash-operator', role: 'operator' });
    const hook = await ok<{ id: string }>(first.url, 'POST', '/v1/webhooks', author.apiKey, { url: receiver.url('/hook'), events: ['era.opened'] });
    await ok(first.url, 'POST', '/v1/eras', operator.apiKey, { number: 1, closesAt: new Date(Date.now() + HOUR).toISOString() });

    // The delivery is in flight (the receiver holds it) when the process dies.
    await until('the first delivery attempt', async () => receiver.received.length === 1, 20_000);
    const inFlight = String(receiver.received[0].headers['webhook-id']);
    await first.stop('SIGKILL');

    // Written while no replica runs, as if a process died right after its transaction committed.
    await probe.query(`select emit_events(array['era.opened'], array[null]::uuid[], array['{"era": 99}'::jsonb])`);

    hang = false;
    const second = await spawnServer(env());
    servers.push(second);
    const delivered = await until('both events delivered after the restart', async () => {
      const ok200 = receiver.received.filter((r) => r.status === 200);
      return ok200.length >= 2 ? ok200 : undefined;
    }, 60_000);
    expect(delivered.map((r) => String(r.headers['webhook-id']))).toContain(inFlight);
    expect(new Set(delivered.map((r) => JSON.parse(r.body).data.era))).toEqual(new Set([1, 99]));

    const log = await ok<{ deliveries: { id: string; status: string; attempts: number }[] }>(second.url, 'GET', `/v1/webhooks/${hook.id}/deliveries`, author.apiKey);
    expect(log.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered']);
    // The killed attempt rolled back with its process: the log holds the attempt that got the answer.
    expect(log.deliveries.find((d) => d.id === inFlight)).toMatchObject({ attempts: 1 });
  });
});
