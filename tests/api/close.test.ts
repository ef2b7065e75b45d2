import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, startReplica, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';
import { metaModel, runs, setStake, type RunBody } from '../support/metamodel.js';

let t: TestApp;
let operatorKey: string;
let authorKey: string;

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

const replica = (options: { scheduler: boolean }) => startReplica(t, { ...options, config: { SCHEDULER_INTERVAL_MS: 20 } });

const HOUR = 3_600_000;

/** An open era with a universe and one staked model with an on-time submission. */
async function readyEra(number: number, ids = liveIds(20, `e${number}_`)) {
  await createEra(t.app, { number, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() });
  await putUniverse(t.app, number, ids);
  const model = await createModel(t.app, authorKey, `close_${number}`, '42');
  const res = await submitCsv(t.app, authorKey, model.id, number, predictionsCsv(ids, ids.map((_, i) => (i * 3) % ids.length / ids.length)));
  if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
  return { ids, model };
}

async function closings(number: number) {
  const { rows } = await t.database.pool.query(
    `select (select count(*)::int from meta_model_runs where era_number = $1) as runs,
            (select count(*)::int from audit_log where action = 'era.close' and subject = $2) as audits,
            (select array_agg(actor_id) from audit_log where action = 'era.close' and subject = $2) as actors,
            (select closed_at from eras where number = $1) as "closedAt"`,
    [number, `era:${number}`],
  );
  return rows[0] as { runs: number; audits: number; actors: (string | null)[]; closedAt: Date | null };
}

const post = (app: FastifyInstance, number: number, key: string) => app.inject({ method: 'POST', url: `/v1/eras/${number}/close`, headers: bearer(key) });

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('closing an era happens exactly once', () => {
  it('under 20 concurrent close requests: one closing, one run, one audit entry', async () => {
    await readyEra(1);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(t.app, 1, i % 2 ? operatorKey : ADMIN_KEY)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const bodies = responses.map((r) => r.json<{ era: number; status: string; run: RunBody }>());
    expect(new Set(bodies.map((b) => b.run.id)).size).toBe(1);
    expect(bodies[0]).toMatchObject({ era: 1, status: 'closed', run: { seq: 1, trigger: 'close', models: 1, totalStake: '42' } });
    const state = await closings(1);
    expect(state).toMatchObject({ runs: 1, audits: 1 });

    // Later closes are idempotent: same run, the closing moment unchanged.
    const again = await post(t.app, 1, operatorKey);
    expect(again.json().run).toEqual(bodies[0].run);
    expect(await closings(1)).toEqual(state);
  });

  it('when two replicas race on the same database', async () => {
    await readyEra(2);
    const other = await replica({ scheduler: false });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(i % 2 ? other.app : t.app, 2, operatorKey)),
      );
      expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
      expect(new Set(responses.map((r) => r.json().run.id)).size).toBe(1);
      expect(await closings(2)).toMatchObject({ runs: 1, audits: 1 });
    } finally {
      await other.close();
    }
  });
});

describe('the scheduler', () => {
  it('closes an era whose closesAt has passed, once across replicas, with the stakes and submissions at closesAt', async () => {
    const { ids, model } = await readyEra(3);
    const lateComer = await createModel(t.app, authorKey, 'close_3_late_stake');
    const onTime = await submitCsv(t.app, authorKey, lateComer.id, 3, predictionsCsv(ids, ids.map((_, i) => i / ids.length)));
    expect(onTime.statusCode).toBe(201);
    const staked = await createModel(t.app, authorKey, 'close_3_late_submission', '9');
    await createEra(t.app, { number: 4, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() });
    await createEra(t.app, { number: 5, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() });

    // closesAt passes now (moved, so the test needs no sleep); era 5 has no universe, so it cannot close.
    await t.database.pool.query('update eras set closes_at = now() where number in (3, 5)');
    // After closesAt but before any scheduler ran: stake changes and submissions must not count.
    await setStake(t.app, authorKey, model.id, '1000');
    await setStake(t.app, authorKey, lateComer.id, '500');
    const stranger = await createModel(t.app, authorKey, 'close_3_after', '77');
    const late = await submitCsv(t.app, authorKey, stranger.id, 3, predictionsCsv(ids, ids.map((_, i) => 1 - i / ids.length)));
    expect(late.json().late).toBe(true);
    const lateButStaked = await submitCsv(t.app, authorKey, staked.id, 3, predictionsCsv(ids, ids.map((_, i) => (i % 7) / 7)));
    expect(lateButStaked.json().late).toBe(true);

    const replicas = await Promise.all([replica({ scheduler: true }), replica({ scheduler: true })]);
    try {
      const era = await eventually<{ status: string }>('era 3 closed by the scheduler', async () => {
        const res = await t.app.inject({ method: 'GET', url: '/v1/eras/3', headers: bearer(operatorKey) });
        return res.json().closedAt ? res.json() : undefined;
      });
      expect(era.status).toBe('closed');
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }

    const state = await closings(3);
    expect(state).toMatchObject({ runs: 1, audits: 1, actors: [null] });
    const [run] = await runs(t.app, 3, operatorKey);
    expect(run).toMatchObject({ seq: 1, trigger: 'close', models: 1, totalStake: '42' });
    expect(run.inputs!.map((i) => [i.modelId, i.stake])).toEqual([[model.id, '42']]);
    expect((await metaModel(t.app, 3, operatorKey)).run.id).toBe(run.id);

    // The era without a universe waits for one; the era still in its window stays open.
    expect((await closings(5)).closedAt).toBeNull();
    expect((await closings(4)).closedAt).toBeNull();
  });
});
