/**
 * Events and webhooks (BENCHMARKS.md, events): how fast a large resolution writes its events, how
 * many deliveries one replica makes per second to a receiver on 127.0.0.1, and how long an event
 * committed elsewhere takes to reach a connected event stream.
 *
 *   npx tsx bench/events.ts [--models 10000] [--deliveries 2000] [--stream-events 40]
 *
 * Uses $TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create a
 * database of its own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { connect } from '../src/db/client.js';
import { emitEvents } from '../src/db/events.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { loadConfig } from '../src/config.js';
import { ledgerEvents } from '../src/domain/events.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MODELS = arg('models', 10_000);
const DELIVERIES = arg('deliveries', 2_000);
const STREAM_EVENTS = arg('stream-events', 40);
const ADMIN_KEY = 'sw_bench_events_admin_key_0123456789';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `sw_bench_events_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const handle = connect(url.toString());
await migrateDatabase(handle.pool);

try {
  // Accounts, one model each, and one webhook per account subscribed to everything.
  const { rows: accounts } = await handle.pool.query<{ id: string }>(
    `insert into accounts (name, role) select 'bench-' || g, 'author' from generate_series(1, $1) g returning id`,
    [MODELS],
  );
  const { rows: models } = await handle.pool.query<{ id: string }>(
    `insert into models (name, account_id) select 'bench_' || n, a from unnest($1::uuid[]) with ordinality u(a, n) returning id`,
    [accounts.map((a) => a.id)],
  );
  await handle.pool.query(
    `insert into webhooks (account_id, url, events, secret) select a, 'https://hooks.example/x', array['model.settled','era.resolved'], 'whsec_x' from unnest($1::uuid[]) a`,
    [accounts.map((a) => a.id)],
  );

  // A resolution's settlements: one model.settled per model (each to its owner's webhook) and era.resolved (to every webhook).
  const settled = ledgerEvents(models.map((m) => ({ modelId: m.id, entry: { kind: 'payout', era: 1, delta: 10n ** 17n, balance: 10n ** 20n } })));
  const started = performance.now();
  await handle.db.transaction(async (tx) => {
    await emitEvents(tx, settled);
    await emitEvents(tx, [{ type: 'era.resolved', modelId: null, data: { era: 1, totalPayout: '0', chainDigest: '0'.repeat(64) } }]);
  });
  const writeMs = performance.now() - started;
  const { rows: counted } = await handle.pool.query<{ n: number }>('select count(*)::int as n from webhook_deliveries');
  await handle.pool.query('delete from webhook_deliveries');

  // Delivery throughput: one replica (WEBHOOK_WORKERS workers) to a receiver answering 204 at once.
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204).end();
      if (++received === DELIVERIES) done();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as { port: number }).port;
  const config = loadConfig({ DATABASE_URL: url.toString(), LOG_LEVEL: 'silent', BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  const app = await buildApp({ config, db: handle.db, logger: false, deliveries: { databaseUrl: url.toString() } });
  await app.ready();
  await handle.pool.query(`update webhooks set url = $1 where account_id = $2`, [`http://127.0.0.1:${port}/hook`, accounts[0].id]);
  await handle.pool.query(`delete from webhooks where account_id <> $1`, [accounts[0].id]);
  const deliverStarted = performance.now();
  await handle.db.transaction(async (tx) =>
    emitEvents(tx, Array.from({ length: DELIVERIES }, (_, i) => ({ type: 'era.resolved' as const, modelId: null, data: { era: i, totalPayout: '0', chainDigest: '' } }))),
  );
  await all;
  const deliverMs = performance.now() - deliverStarted;

  // Stream latency: an event committed through another pool (as another replica would) until a
  // client connected to GET /v1/events reads its frame.
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const controller = new AbortController();
  const stream = await fetch(`${address}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, accept: 'text/event-stream' }, signal: controller.signal });
  const arrived = new Map<number, number>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (const match of buffer.matchAll(/"era":(-?\d+)/g)) if (!arrived.has(Number(match[1]))) arrived.set(Number(match[1]), performance.now());
        buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 1);
      }
    } catch {
      // aborted below
    }
  })();
  const writer = connect(url.toString(), { max: 1 });
  const latencies: number[] = [];
  for (let i = 0; i < STREAM_EVENTS; i++) {
    const era = -1 - i;
    await writer.db.transaction(async (tx) => emitEvents(tx, [{ type: 'era.resolved' as const, modelId: null, data: { era, totalPayout: '0', chainDigest: '' } }]));
    const committed = performance.now();
    while (!arrived.has(era)) await new Promise((r) => setTimeout(r, 5));
    latencies.push(arrived.get(era)! - committed);
  }
  controller.abort();
  await reading;
  await writer.pool.end();
  latencies.sort((a, b) => a - b);
  await app.close();
  receiver.close();

  process.stdout.write(
    `${JSON.stringify(
      {
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
        resolution: { models: MODELS, events: settled.length + 1, deliveries: counted[0].n, ms: Math.round(writeMs), eventsPerSecond: Math.round(((settled.length + 1) / writeMs) * 1000) },
        delivery: { deliveries: DELIVERIES, workers: config.WEBHOOK_WORKERS, ms: Math.round(deliverMs), perSecond: Math.round((DELIVERIES / deliverMs) * 1000) },
        stream: {
          events: STREAM_EVENTS,
          pollMs: config.EVENTS_STREAM_POLL_MS,
          medianMs: Math.round(latencies[Math.floor(latencies.length / 2)]),
          maxMs: Math.round(latencies[latencies.length - 1]),
        },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await handle.pool.end();
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
}
