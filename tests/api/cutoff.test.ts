import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startReplica, startTwoInstances, untilWaitingForLock, type TestApp } from '../support/app.js';
import { drizzle } from 'drizzle-orm/node-postgres';
import { changeAmount } from '../../src/services/settlement.js';
import { LOCK_CLASS } from '../../src/db/locks.js';
import * as schema from '../../src/db/schema.js';
import { liveIds, predictionsCsv, putUniverse, rng } from '../support/fixtures.js';
import { ok, stakeOf, units } from '../support/stakes.js';

/*
 * The cutoff is closesAt, whoever closes the era and whenever: a stake changed after closesAt but
 * before any close has run (the scheduler slow, busy or stopped) is not at risk there, and a
 * lowering then waits for that era. So every burn is covered by money the model still holds,
 * and the ledger settles each era exactly as its bundle says.
 *
 * Time passes here by moving an era's closesAt into the past in the database: the clock reaching
 * closesAt, with no sleep racing it.
 */

let t: TestApp;
let other: Awaited<ReturnType<typeof startReplica>>;
let operatorKey: string;
let authorKey: string;
const ids = liveIds(16, 'ct');
const HOUR = 3_600_000;

let instances: Awaited<ReturnType<typeof startTwoInstances>>;
beforeAll(async () => {
  instances = await startTwoInstances();
  ({ t, other, operatorKey, authorKey } = instances);
});
afterAll(async () => instances?.close());

const truth = ids.map((_, i) => i / ids.length);
const predictions = (seed: number) => {
  const random = rng(seed + 1);
  return predictionsCsv(ids, truth.map((x) => Math.round((0.8 * x + 0.2 * random()) * 1e6) / 1e6));
};
/** A target the predictions follow (a payout) or run against (a burn). */
const targetBody = (against: boolean) => {
  const bins = [0, 0.25, 0.5, 0.75, 1];
  return predictionsCsv(ids, truth.map((x) => bins[Math.min(4, Math.floor((against ? 1 - x : x) * 5))]), 'id,target');
};

/** Resolved eras whose settlement was compared with the bundle: both are frozen from then on. */
const settledChecked = new Set<number>();

/** Every model's name by id: bundles name models. */
const modelNames = new Map<string, string>();

/** A numeric's text without the trailing zeros of its scale. */
const trimmed = (decimal: string) => (decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal);

/** The clock reaches the era's closesAt: it lies in the past, and no close has run. */
async function passCloseTime(era: number) {
  await t.database.pool.query(`update eras set closes_at = clock_timestamp() - interval '1 millisecond' where number = $1 and closed_at is null`, [era]);
}

async function createOpenEra(app: FastifyInstance, number: number, payout: Record<string, number>) {
  await ok(app, 'POST', '/v1/eras', operatorKey, {
    number,
    opensAt: new Date(Date.now() - HOUR).toISOString(),
    closesAt: new Date(Date.now() + HOUR).toISOString(),
    payout: { mmcMultiplier: 2, stakeThreshold: 72000, ...payout },
  });
  await putUniverse(app, number, ids, operatorKey);
}

const submit = (app: FastifyInstance, model: string, era: number, seed: number) =>
  app.inject({ method: 'POST', url: `/v1/models/${model}/submissions?era=${era}`, headers: { ...bearer(authorKey), 'content-type': 'text/csv' }, payload: predictions(seed) });

/**
 * After any step: for every unresolved era whose cutoff has passed, each model's at-risk stake
 * (the closing run's, or for an era not closed yet the amount at closesAt of a model with an
 * on-time submission) is covered by its balance, less only the burns since the cutoff; and every
 * resolved era's ledger entries are its bundle's payouts, none cut at the balance.
 */
async function expectMoneyAtTheCutoffHolds() {
  const { rows: uncovered } = await t.database.pool.query(
    `with cut as (
       select e.number, coalesce(e.closed_at, e.closes_at) as cutoff, e.closed_at is not null as closed
       from eras e where e.resolved_at is null and coalesce(e.closed_at, e.closes_at) <= clock_timestamp()
     ), at_risk as (
       select c.number, c.cutoff, ri.model_id, ri.stake from cut c
       join meta_model_runs r on r.era_number = c.number and r.seq = 1 join run_inputs ri on ri.run_id = r.id
       where c.closed
       union all
       select c.number, c.cutoff, s.model_id, a.amount from cut c
       join submissions s on s.era_number = c.number and not s.late and not s.superseded
       cross join lateral (select se.amount from stake_entries se where se.model_id = s.model_id and se.at <= c.cutoff order by se.seq desc limit 1) a
       where not c.closed and a.amount > 0
     )
     select ar.number, ar.model_id, ar.stake::text, head.balance::text,
            (select coalesce(sum(-se.delta), 0) from stake_entries se where se.model_id = ar.model_id and se.kind = 'burn' and se.at > ar.cutoff)::text as burned_since
     from at_risk ar
     cross join lateral (select se.balance from stake_entries se where se.model_id = ar.model_id order by se.seq desc limit 1) head
     where ar.stake > head.balance + (select coalesce(sum(-se.delta), 0) from stake_entries se where se.model_id = ar.model_id and se.kind = 'burn' and se.at > ar.cutoff)`,
  );
  expect(uncovered, 'at-risk stake not covered by the balance').toEqual([]);

  const { rows: cut } = await t.database.pool.query(`select model_id, era_number, note from stake_entries where note like '%cut at the balance%'`);
  expect(cut, 'a burn cut at the balance').toEqual([]);

  const { rows: resolved } = await t.database.pool.query<{ number: number }>(`select number from eras where resolved_at is not null order by number`);
  for (const { number } of resolved) {
    if (settledChecked.has(number)) continue;
    settledChecked.add(number);
    const bundle = await ok(other.app, 'GET', `/v1/eras/${number}/bundle`, operatorKey);
    const { rows: settled } = await t.database.pool.query<{ model_id: string; delta: string }>(
      `select model_id, delta::text from stake_entries where era_number = $1 and kind in ('payout', 'burn')`,
      [number],
    );
    const ledger = new Map(settled.map((r) => [modelNames.get(r.model_id) ?? r.model_id, units(trimmed(r.delta))]));
    const inBundle = new Map((bundle.models as { model: string; payout: string | null }[]).map((m) => [m.model, units(m.payout ?? '0')]));
    expect(ledger, `era ${number}: the ledger's settlement is the bundle's`).toEqual(inBundle);
  }
}

describe('the cutoff is closesAt, whoever closes and whenever', () => {
  it('a stake lowered after closesAt, before the close has run, waits for that era and its burn is whole', async () => {
    const ERA = 10;
    const model = (await ok(t.app, 'POST', '/v1/models', authorKey, { name: 'cutoff_edge' })).id as string;
    await ok(t.app, 'PUT', `/v1/models/${model}/stake`, authorKey, { amount: '100' });
    await createOpenEra(t.app, ERA, { clip: 0.05, corrMultiplier: 0.5 });
    expect((await submit(t.app, model, ERA, 1)).statusCode).toBe(201);

    await passCloseTime(ERA);
    const lowered = await ok(other.app, 'PUT', `/v1/models/${model}/stake`, authorKey, { amount: '0' });
    expect(lowered.balance).toBe('100');
    expect(lowered.pendingReleases).toEqual([expect.objectContaining({ amount: '100', waitsForEras: [ERA] })]);
    // A raise after closesAt is not at risk there either.
    await ok(t.app, 'PUT', `/v1/models/${model}/stake`, authorKey, { amount: '40' });

    // The scheduler is stopped here: the close runs late, by request.
    await ok(t.app, 'POST', `/v1/eras/${ERA}/close`, operatorKey);
    const { rows } = await t.database.pool.query<{ stake: string }>(
      `select ri.stake::text from run_inputs ri join meta_model_runs r on r.id = ri.run_id and r.seq = 1 where r.era_number = $1 and ri.model_id = $2`,
      [ERA, model],
    );
    expect(rows.map((r) => units(r.stake))).toEqual([units('100')]);

    await ok(t.app, 'PUT', `/v1/eras/${ERA}/targets/target`, operatorKey, targetBody(true), 'text/csv');
    await ok(t.app, 'POST', `/v1/eras/${ERA}/resolve`, operatorKey);
    const after = await stakeOf(t.app, authorKey, model);
    const burn = after.history.find((e) => e.kind === 'burn' && e.era === ERA)!;
    expect(units(burn.delta)).toBe(-units('5'));
    expect(burn.note ?? '').not.toMatch(/cut at the balance/);
    // The release left when its era resolved; what stays is the raise of 40 less the burn taken from it.
    expect(after.pendingReleases).toEqual([]);
    expect(units(after.balance)).toBe(units('35'));
    modelNames.set(model, 'cutoff_edge');
    await expectMoneyAtTheCutoffHolds();
  });

  it('a lowering after closesAt racing the close of that era: both go through, the locks taken in one order', async () => {
    const ERA = 11;
    const model = (await ok(t.app, 'POST', '/v1/models', authorKey, { name: 'cutoff_lock_order' })).id as string;
    await ok(t.app, 'PUT', `/v1/models/${model}/stake`, authorKey, { amount: '100' });
    await createOpenEra(t.app, ERA, { clip: 0.05, corrMultiplier: 0.5 });
    expect((await submit(t.app, model, ERA, 3)).statusCode).toBe(201);
    await passCloseTime(ERA);

    const changing = await t.database.pool.connect();
    try {
      await changing.query('begin');
      // A stake change under way holds the stake lock (shared) ...
      await changing.query('select pg_advisory_xact_lock_shared($1, 0)', [LOCK_CLASS.stake]);
      let settled = false;
      const closing = other.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/close`, headers: bearer(operatorKey) }).finally(() => {
        settled = true;
      });
      await untilWaitingForLock(t.database.pool, () => settled);
      // ... when the close starts; then it writes its release, whose foreign key locks the era row.
      await changeAmount(drizzle(changing, { schema }), model, 0n, 'open');
      await changing.query('commit');
      const closed = await closing;
      expect(closed.statusCode, closed.body).toBe(200);
    } finally {
      changing.release();
    }
    const view = await stakeOf(t.app, authorKey, model);
    expect(view.pendingReleases).toEqual([expect.objectContaining({ amount: '100', waitsForEras: [ERA] })]);
    await ok(t.app, 'PUT', `/v1/eras/${ERA}/targets/target`, operatorKey, targetBody(false), 'text/csv');
    await ok(t.app, 'POST', `/v1/eras/${ERA}/resolve`, operatorKey);
    modelNames.set(model, 'cutoff_lock_order');
    await expectMoneyAtTheCutoffHolds();
  });
});

type Step =
  | { op: 'stake'; model: number; amount: string; on: number }
  | { op: 'era'; submitters: boolean[]; seed: number; on: number }
  | { op: 'submit'; model: number; era: number; seed: number; on: number }
  | { op: 'pass'; era: number }
  | { op: 'cutoff'; era: number; model: number; amount: string; on: number }
  | { op: 'advance'; era: number; against: boolean; on: number };

const MODELS = 3;
/** At most this many eras unresolved at once, and burns of at most 0.9/MAX_OPEN of the stake each: together they never exceed it, rounding included. */
const MAX_OPEN = 3;
const on = fc.integer({ min: 0, max: 1 });
const stakeAmount = fc.oneof(
  { weight: 2, arbitrary: fc.constant('0') },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 50_000 }).map((n) => (n / 100).toString()) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('stake' as const), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('era' as const), submitters: fc.array(fc.boolean(), { minLength: MODELS, maxLength: MODELS }), seed: fc.nat(), on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('submit' as const), model: fc.nat({ max: MODELS - 1 }), era: fc.nat(20), seed: fc.nat(), on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pass' as const), era: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('cutoff' as const), era: fc.nat(20), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, on }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), era: fc.nat(20), against: fc.boolean(), on }) },
);

let eraCounter = 100;
let runCounter = 0;

describe('stake changes, submissions, closes by request and by the scheduler, and resolutions around closesAt', () => {
  // A third replica runs a slow scheduler, closing eras whose closesAt has passed at its next tick, a few steps later.
  let ticking: Awaited<ReturnType<typeof startReplica>>;
  beforeAll(async () => {
    ticking = await startReplica(t, { scheduler: true, config: { SCHEDULER_INTERVAL_MS: 300 } });
  });
  afterAll(async () => ticking?.close());

  it('keep every at-risk stake covered and every settlement equal to its bundle, after every step, on two instances', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 15, maxLength: 30 }), async (steps) => {
        const run = ++runCounter;
        const models: string[] = [];
        for (let k = 0; k < MODELS; k++) {
          const name = `cut_${run}_${k}`;
          const id = (await ok(t.app, 'POST', '/v1/models', authorKey, { name })).id as string;
          models.push(id);
          modelNames.set(id, name);
          await ok(t.app, 'PUT', `/v1/models/${id}/stake`, authorKey, { amount: String(100 * (k + 1)) });
        }
        const eras: { number: number; target: boolean }[] = [];
        const instance = (i: number) => (i ? other.app : t.app);
        /** open until a close has run (closesAt may have passed), then closed until resolved. */
        const status = async (number: number) => {
          const era = await ok(t.app, 'GET', `/v1/eras/${number}`, operatorKey);
          return era.status === 'resolved' ? 'resolved' : era.closedAt ? 'closed' : 'open';
        };
        for (const s of steps) {
          if (s.op === 'stake') await ok(instance(s.on), 'PUT', `/v1/models/${models[s.model]}/stake`, authorKey, { amount: s.amount });
          else if (s.op === 'era' && eras.length < MAX_OPEN) {
            const number = ++eraCounter;
            await createOpenEra(instance(s.on), number, { clip: 0.9 / MAX_OPEN, corrMultiplier: 50 });
            for (const [k, yes] of s.submitters.entries()) if (yes) expect((await submit(instance(s.on), models[k], number, s.seed + k)).statusCode).toBe(201);
            eras.push({ number, target: false });
          } else if (s.op === 'submit' && eras.length > 0) {
            // On time or late, whichever the era's clock says.
            const res = await submit(instance(s.on), models[s.model], eras[s.era % eras.length].number, s.seed);
            expect([200, 201]).toContain(res.statusCode);
          } else if (s.op === 'pass' && eras.length > 0) {
            // The scheduler replica may close the era from here on, before or after the steps that follow.
            await passCloseTime(eras[s.era % eras.length].number);
          } else if (s.op === 'cutoff' && eras.length > 0) {
            // A stake change a moment after closesAt, before any close has run.
            await passCloseTime(eras[s.era % eras.length].number);
            await ok(instance(s.on), 'PUT', `/v1/models/${models[s.model]}/stake`, authorKey, { amount: s.amount });
          } else if (s.op === 'advance' && eras.length > 0) {
            const era = eras[s.era % eras.length];
            const app = instance(s.on);
            const now = await status(era.number);
            if (now === 'open') await ok(app, 'POST', `/v1/eras/${era.number}/close`, operatorKey);
            else if (now === 'closed' && !era.target) {
              await ok(app, 'PUT', `/v1/eras/${era.number}/targets/target`, operatorKey, targetBody(s.against), 'text/csv');
              era.target = true;
            } else if (now === 'closed') {
              await ok(app, 'POST', `/v1/eras/${era.number}/resolve`, operatorKey);
              eras.splice(eras.indexOf(era), 1);
            }
          }
          await expectMoneyAtTheCutoffHolds();
        }
        // Everything resolves in the end, each settlement checked once more.
        for (const era of eras) {
          if ((await status(era.number)) === 'open') await ok(t.app, 'POST', `/v1/eras/${era.number}/close`, operatorKey);
          if (!era.target) await ok(t.app, 'PUT', `/v1/eras/${era.number}/targets/target`, operatorKey, targetBody(true), 'text/csv');
          await ok(other.app, 'POST', `/v1/eras/${era.number}/resolve`, operatorKey);
        }
        await expectMoneyAtTheCutoffHolds();
      }),
      { numRuns: 12, seed: 2024, endOnFailure: true },
    );
  }, 600_000);
});
