import { drizzle } from 'drizzle-orm/node-postgres';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startReplica, type TestApp, startTwoInstances, untilWaitingForLock } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { changeAmount } from '../../src/services/settlement.js';
import * as schema from '../../src/db/schema.js';
import { closeEra } from '../support/metamodel.js';
import { expectAtRiskIsAmountAtCutoff, expectLedgerInvariants, stakeOf, units } from '../support/stakes.js';

/*
 * The stake ledger on two app instances with pools of their own, as replicas behind a load
 * balancer: stake changes racing a close, and resolutions, releases and closes all at once.
 */

let t: TestApp;
let other: Awaited<ReturnType<typeof startReplica>>;
let operatorKey: string;
let authorKey: string;
const HOUR = 3_600_000;
const ids = liveIds(20, 'rc');
const random = rng(15);

let instances: Awaited<ReturnType<typeof startTwoInstances>>;
beforeAll(async () => {
  instances = await startTwoInstances();
  ({ t, other, operatorKey, authorKey } = instances);
});
afterAll(async () => instances?.close());

const instance = (i: number): FastifyInstance => (i % 2 ? other.app : t.app);
const amount = () => String(Math.floor(random() * 100_000) / 100);

async function openEra(number: number) {
  await createEra(t.app, { number, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString(), minCoverage: 1 }, operatorKey);
  await putUniverse(t.app, number, ids, operatorKey);
}

async function submitAll(number: number, models: { id: string }[]) {
  for (const model of models) {
    const values = ids.map(() => Math.round(random() * 1e6) / 1e6);
    const res = await submitCsv(t.app, authorKey, model.id, number, predictionsCsv(ids, values));
    expect(res.statusCode, res.body).toBe(201);
  }
}

const target = `id,target\n${ids.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][(i * 7) % 5]}`).join('\n')}\n`;

describe('stake changes, closes and resolutions on two instances', () => {
  it('a close racing many stake changes snapshots exactly the amounts stamped at or before closedAt', async () => {
    const ERA = 1;
    await openEra(ERA);
    const models = [];
    for (let k = 0; k < 30; k++) models.push(await createModel(t.app, authorKey, `race_${k}`, amount()));
    await submitAll(ERA, models);

    let answered = 0;
    let closeReply: Promise<unknown> | undefined;
    const changes = models.map(async (model, k) => {
      for (let n = 0; n < 8; n++) {
        const res = await instance(k + n).inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(authorKey), payload: { amount: amount() } });
        expect(res.statusCode, res.body).toBe(200);
        // The close goes out once the changes are well under way, and they keep coming while it runs.
        if (++answered === 40) closeReply = closeEra(other.app, ERA, operatorKey);
      }
    });
    await Promise.all(changes);
    await closeReply;

    await expectAtRiskIsAmountAtCutoff(t.database.pool, ERA);
    const { rows } = await t.database.pool.query<{ before: number; after: number }>(
      `select count(*) filter (where se.seq > 1 and se.at <= e.closed_at)::int as before, count(*) filter (where se.at > e.closed_at)::int as after
       from stake_entries se cross join eras e where e.number = $1 and se.model_id = any($2)`,
      [ERA, models.map((m) => m.id)],
    );
    // The race happened: changes landed on both sides of the cutoff.
    expect(rows[0].before).toBeGreaterThan(0);
    expect(rows[0].after).toBeGreaterThan(0);
    for (const model of models) {
      const [fromA, fromB] = await Promise.all([stakeOf(t.app, authorKey, model.id), stakeOf(other.app, authorKey, model.id)]);
      expect(fromB).toEqual(fromA);
      expectLedgerInvariants(fromA);
    }
  });

  it('a stake change in flight when a close starts is in its snapshot: the close waits for it', async () => {
    const ERA = 2;
    await openEra(ERA);
    const model = await createModel(t.app, authorKey, 'in_flight', '10');
    await submitAll(ERA, [model]);
    // A stake change stamped but not committed, as a slow request on another replica would hold it.
    const client = await t.database.pool.connect();
    try {
      await client.query('begin');
      await changeAmount(drizzle(client, { schema }), model.id, 25n * 10n ** 18n, 'open');
      let settled = false;
      const closing = closeEra(other.app, ERA, operatorKey).finally(() => {
        settled = true;
      });
      // Until the close is either done or waiting for a lock (it must be the latter: the stake lock).
      await untilWaitingForLock(t.database.pool, () => settled);
      await client.query('commit');
      await closing;
    } finally {
      client.release();
    }
    const [row] = await expectAtRiskIsAmountAtCutoff(t.database.pool, ERA);
    expect(row.snapshot).toBe('25');
  });

  it('resolutions, the releases they complete, a close and stake changes all at once apply everything exactly once', async () => {
    const models = [];
    for (let k = 0; k < 12; k++) models.push(await createModel(t.app, authorKey, `once_${k}`, String(100 + k)));
    for (const era of [11, 12, 13]) {
      await openEra(era);
      await submitAll(era, models);
    }
    for (const era of [11, 12]) {
      await closeEra(t.app, era, operatorKey);
      const up = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/target`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: target });
      expect(up.statusCode, up.body).toBe(200);
    }
    // Every model lowers its stake: a release waiting for eras 11 and 12.
    for (const model of models) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(authorKey), payload: { amount: '50' } });
      expect(res.json().pendingReleases).toEqual([expect.objectContaining({ waitsForEras: [11, 12] })]);
    }
    const scored = new Map<number, Map<string, string>>();
    for (const era of [11, 12]) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/eras/${era}/scores`, headers: bearer(operatorKey) });
      scored.set(era, new Map((res.json().scores as { modelId: string; payout: string }[]).map((s) => [s.modelId, s.payout])));
    }

    const requests = [
      ...Array.from({ length: 8 }, (_, i) => ({ method: 'POST' as const, url: `/v1/eras/${11 + (i % 2)}/resolve`, key: operatorKey, payload: undefined })),
      ...Array.from({ length: 4 }, () => ({ method: 'POST' as const, url: '/v1/eras/13/close', key: operatorKey, payload: undefined })),
      ...models.flatMap((m) => [
        { method: 'PUT' as const, url: `/v1/models/${m.id}/stake`, key: authorKey, payload: { amount: '20' } },
        { method: 'PUT' as const, url: `/v1/models/${m.id}/stake`, key: authorKey, payload: { amount: '70' } },
      ]),
    ].sort(() => random() - 0.5);
    const replies = await Promise.all(requests.map((r, i) => instance(i).inject({ method: r.method, url: r.url, headers: bearer(r.key), payload: r.payload })));
    for (const res of replies) expect(res.statusCode, res.body).toBe(200);

    const pool = t.database.pool;
    const count = async (sql: string, params: unknown[]) => (await pool.query<{ n: number }>(sql, params)).rows[0].n;
    expect(await count('select count(*)::int as n from meta_model_runs where era_number = 13', [])).toBe(1);
    expect(await count(`select count(*)::int as n from audit_log where action = 'era.resolve' and subject = any($1)`, [['era:11', 'era:12']])).toBe(2);
    await expectAtRiskIsAmountAtCutoff(pool, 13);
    for (const model of models) {
      const view = await stakeOf(other.app, authorKey, model.id);
      expectLedgerInvariants(view);
      for (const era of [11, 12]) {
        const settled = view.history.filter((e) => (e.kind === 'payout' || e.kind === 'burn') && e.era === era);
        expect(settled, `${model.id} era ${era}`).toHaveLength(1);
        const index = view.history.indexOf(settled[0]);
        const balanceBefore = units(view.history[index - 1].balance);
        const payout = units(scored.get(era)!.get(model.id)!);
        expect(units(settled[0].delta)).toBe(payout >= 0n ? payout : -(-payout < balanceBefore ? -payout : balanceBefore));
      }
      // The release requested before the race waited for 11 and 12: it left once, after both resolved.
      const released = view.history.filter((e) => e.kind === 'released');
      const first = released.find((e) => e.era === 11 || e.era === 12);
      expect(first, model.id).toBeDefined();
      const settledAt = view.history.filter((e) => e.kind === 'payout' || e.kind === 'burn').map((e) => view.history.indexOf(e));
      expect(view.history.indexOf(first!)).toBeGreaterThan(Math.max(...settledAt));
    }
    expect(await count(`select count(*)::int as n from (select release_id from stake_entries where kind = 'released' group by release_id having count(*) > 1) d`, [])).toBe(0);
    expect(
      await count(
        `select count(*)::int as n from stake_releases r where r.released_at is null
           and not exists (select 1 from stake_release_eras w join eras e on e.number = w.era_number where w.release_id = r.id and e.resolved_at is null)`,
        [],
      ),
    ).toBe(0);
  });
});
