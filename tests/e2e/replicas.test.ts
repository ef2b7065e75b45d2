import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { call, ok, probePool, seedModels, universeBody, until } from '../support/e2e.js';
import { liveIds } from '../support/fixtures.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

/*
 * Two replicas of the service on one database, as README.md, configuration runs them behind a load balancer.
 * Every exactly-once step is raced from both at once; Postgres, not process memory, must decide.
 */

const ADMIN = 'sw_e2e_replicas_admin_key_0123456789';
const HOUR = 3_600_000;
const MODELS = 40;
const ids = liveIds(600, 'rp');

let database: TestDatabase;
let probe: pg.Pool;
let a: ServerProcess;
let b: ServerProcess;
let operator: string;

beforeAll(async () => {
  database = await createTestDatabase();
  probe = probePool(database.url);
  const env = { DATABASE_URL: database.url, BOOTSTRAP_ADMIN_KEY: ADMIN, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000', SCHEDULER_INTERVAL_MS: '100' };
  // Started together: migrations and the bootstrap key race too.
  [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  operator = (await ok<{ apiKey: string }>(a.url, 'POST', '/v1/accounts', ADMIN, { name: 'replica-operator', role: 'operator' })).apiKey;
});
afterAll(async () => {
  for (const server of [a, b]) if (server && server.child.exitCode === null) await server.stop('SIGKILL');
  await probe?.end();
  await database.drop();
});

/** Fires `count` copies of one request, alternating replicas, all at once. */
function race<T>(count: number, method: string, path: string, body?: unknown) {
  return Promise.all(Array.from({ length: count }, (_, i) => call<T>((i % 2 ? b : a).url, method, path, operator, body)));
}

const count = async (sql: string, params: unknown[]) => (await probe.query<{ n: number }>(sql, params)).rows[0].n;

describe('two replicas on one database', () => {
  it('close an era, recompute it and resolve it exactly once however the requests race', async () => {
    const era = 1;
    await ok(a.url, 'POST', '/v1/eras', operator, { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() });
    await ok(b.url, 'PUT', `/v1/eras/${era}/universe`, operator, universeBody(ids));
    const models = await seedModels(probe, era, ids, MODELS, 11);

    // Racing closes: one closing run, every caller told about the same one.
    const closes = await race<{ run: { id: string; seq: number; models: number } }>(10, 'POST', `/v1/eras/${era}/close`);
    expect(closes.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(closes.map((r) => r.json.run.id)).size).toBe(1);
    expect(closes[0].json.run).toMatchObject({ seq: 1, models: MODELS });
    expect(await count('select count(*)::int as n from meta_model_runs where era_number = $1', [era])).toBe(1);
    expect(await count(`select count(*)::int as n from audit_log where action = 'era.close' and subject = $1`, [`era:${era}`])).toBe(1);

    // Racing recomputes: one new run per request, numbered without gaps or repeats.
    const recomputes = await race<{ id: string; seq: number }>(8, 'POST', `/v1/eras/${era}/meta-model/compute`);
    expect(recomputes.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(recomputes.map((r) => r.json.id)).size).toBe(8);
    expect(recomputes.map((r) => r.json.seq).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const runs = await probe.query<{ seq: number; trigger: string }>('select seq, trigger from meta_model_runs where era_number = $1 order by seq', [era]);
    expect(runs.rows.map((r) => `${r.seq}:${r.trigger}`)).toEqual(['1:close', ...[2, 3, 4, 5, 6, 7, 8, 9].map((s) => `${s}:recompute`)]);

    // Both replicas serve the same latest meta-model, run lineage and scores.
    const target = `id,target\n${ids.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][(i * 7) % 5]}`).join('\n')}\n`;
    await ok(a.url, 'PUT', `/v1/eras/${era}/targets/target`, operator, target);
    for (const path of [`/v1/eras/${era}/meta-model`, `/v1/eras/${era}/meta-model/runs?inputs=true`, `/v1/eras/${era}/scores`]) {
      const [fromA, fromB] = await Promise.all([ok(a.url, 'GET', path, operator), ok(b.url, 'GET', path, operator)]);
      expect(fromB, path).toEqual(fromA);
    }
    const meta = await ok<{ run: { id: string }; rows: unknown[] }>(b.url, 'GET', `/v1/eras/${era}/meta-model`, operator);
    expect(meta.run.id).toBe(recomputes.find((r) => r.json.seq === 9)!.json.id);
    expect(meta.rows).toHaveLength(ids.length);

    // Racing resolves: payouts applied once, every caller told the same total.
    const before = await probe.query<{ model_id: string; balance: string }>(
      `select distinct on (model_id) model_id, balance::text from stake_entries where model_id = any($1) order by model_id, seq desc`,
      [models],
    );
    const resolves = await race<{ status: string; totalPayout: string }>(10, 'POST', `/v1/eras/${era}/resolve`);
    expect(resolves.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(resolves.map((r) => r.json.totalPayout)).size).toBe(1);
    expect(await count(`select count(*)::int as n from stake_entries where kind in ('payout', 'burn') and era_number = $1`, [era])).toBe(MODELS);
    expect(await count(`select count(*)::int as n from audit_log where action = 'era.resolve' and subject = $1`, [`era:${era}`])).toBe(1);
    // Each balance moved by exactly its payout, once.
    const moved = await probe.query<{ model_id: string; balance: string; delta: string }>(
      `select distinct on (model_id) model_id, balance::text, delta::text from stake_entries where model_id = any($1) order by model_id, seq desc`,
      [models],
    );
    const previous = new Map(before.rows.map((r) => [r.model_id, r.balance]));
    const mismatched = await probe.query(
      `select 1 from unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[]) as t(model_id, balance, delta, previous) where balance <> previous + delta`,
      [moved.rows.map((r) => r.model_id), moved.rows.map((r) => r.balance), moved.rows.map((r) => r.delta), moved.rows.map((r) => previous.get(r.model_id))],
    );
    expect(mismatched.rowCount).toBe(0);
    const total = await probe.query<{ total: string }>(`select coalesce(sum(delta), 0)::text as total from stake_entries where kind in ('payout', 'burn') and era_number = $1`, [era]);
    expect(Number(total.rows[0].total)).toBeCloseTo(Number(resolves[0].json.totalPayout), 9);

    // After resolution the result is final on both replicas.
    const late = await race(2, 'POST', `/v1/eras/${era}/meta-model/compute`);
    expect(late.map((r) => r.status)).toEqual([409, 409]);
    const [scoresA, scoresB] = await Promise.all([ok(a.url, 'GET', `/v1/eras/${era}/scores`, operator), ok(b.url, 'GET', `/v1/eras/${era}/scores`, operator)]);
    expect(scoresB).toEqual(scoresA);
  });

  it('let both schedulers race for a due era and close it once', async () => {
    const era = 2;
    await ok(a.url, 'POST', '/v1/eras', operator, { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + 2_000).toISOString() });
    await ok(a.url, 'PUT', `/v1/eras/${era}/universe`, operator, universeBody(ids));
    await seedModels(probe, era, ids, MODELS, 12);
    // Neither replica is asked: both schedulers (every 100 ms) find the era due at the same moment.
    await until('a scheduler to close the era', async () => (await count('select count(*)::int as n from eras where number = $1 and closed_at is not null', [era])) === 1, 30_000, 100);
    // Give the other replica's scheduler ticks to (wrongly) close it again.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await count('select count(*)::int as n from meta_model_runs where era_number = $1', [era])).toBe(1);
    expect(await count(`select count(*)::int as n from audit_log where action = 'era.close' and subject = $1`, [`era:${era}`])).toBe(1);
    const [fromA, fromB] = await Promise.all([ok(a.url, 'GET', `/v1/eras/${era}/meta-model`, operator), ok(b.url, 'GET', `/v1/eras/${era}/meta-model`, operator)]);
    expect(fromB).toEqual(fromA);

    for (const server of [a, b]) expect(await server.stop()).toBe(0);
  });
});
