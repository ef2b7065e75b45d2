import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMoney } from '../../src/services/verify.js';
import { bearer, startReplica, type TestApp, startTwoInstances } from '../support/app.js';
import { liveIds, putUniverse } from '../support/fixtures.js';
import { advanceEra, expectAtRiskIsAmountAtCutoff, expectLedgerInvariants, marketBodies, nthUnresolved, ok, stakeOf, units, type EraState, type StakeBody } from '../support/stakes.js';

/*
 * Random sequences of deposits, lowerings, submissions, closes, targets and resolutions over
 * overlapping eras, each step on one of two app instances (pools of their own) and some steps
 * racing a stake change against a close or a resolution. After every step every invariant of
 * the stake ledger is checked through the API and against the database, and every payout of a
 * resolved era is replayed: at-risk stake × clip(pf·(c·CORR + m·MMC)), or cut at the balance.
 */

let t: TestApp;
let other: Awaited<ReturnType<typeof startReplica>>;
let operatorKey: string;
let authorKey: string;
const ids = liveIds(16, 'pp');
const HOUR = 3_600_000;
const MODELS = 3;

let instances: Awaited<ReturnType<typeof startTwoInstances>>;
beforeAll(async () => {
  instances = await startTwoInstances();
  ({ t, other, operatorKey, authorKey } = instances);
});
afterAll(async () => instances?.close());

type Step =
  | { op: 'stake'; model: number; amount: string; on: number }
  | { op: 'era'; clip: number; corrMultiplier: number; submitters: boolean[]; closed: boolean; seed: number; on: number }
  | { op: 'submit'; model: number; era: number; seed: number; on: number }
  | { op: 'advance'; era: number; seed: number; on: number }
  | { op: 'race'; model: number; amount: string; era: number; seed: number; on: number };

const amount = fc
  .tuple(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 0, max: 8 }))
  .map(([n, places]) => (places === 0 ? String(n) : `${String(n).padStart(places + 1, '0').slice(0, -places)}.${String(n).padStart(places + 1, '0').slice(-places)}`));
const on = fc.integer({ min: 0, max: 1 });
// Lowering to zero often, so burns reach pending releases and, over overlapping eras, the balance.
const stakeAmount = fc.oneof({ weight: 1, arbitrary: fc.constant('0') }, { weight: 2, arbitrary: amount });
const pick = fc.nat({ max: 20 });
const seed = fc.nat();
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('stake' as const), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('era' as const), clip: fc.constantFrom(0.05, 1, 1, 1), corrMultiplier: fc.constantFrom(0.5, 50, 50, 50), submitters: fc.array(fc.constantFrom(true, true, false), { minLength: MODELS, maxLength: MODELS }), closed: fc.boolean(), seed, on }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('submit' as const), model: fc.nat({ max: MODELS - 1 }), era: pick, seed, on }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('advance' as const), era: pick, seed, on }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('race' as const), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, era: pick, seed, on }) },
);


let eraCounter = 0;
let runCounter = 0;
const { predictionsBody, targetBody } = marketBodies(ids);

interface ResolvedEra {
  params: Record<string, number>;
  inputs: { modelId: string; stake: string }[];
  scores: { modelId: string; late: boolean; corr: number | null; mmc: number | null }[];
}
/** What a resolved era paid on, read once through the API: it is frozen from resolution on. */
const resolvedEras = new Map<number, ResolvedEra>();

async function resolvedEra(era: number): Promise<ResolvedEra> {
  const known = resolvedEras.get(era);
  if (known) return known;
  const params = (await ok(t.app, 'GET', `/v1/eras/${era}`, operatorKey)).payout as Record<string, number>;
  const [closing] = (await ok(other.app, 'GET', `/v1/eras/${era}/meta-model/runs?inputs=true`, operatorKey)).runs as { inputs: { modelId: string; stake: string }[] }[];
  const { scores } = await ok(t.app, 'GET', `/v1/eras/${era}/scores`, operatorKey);
  const loaded = { params, inputs: closing.inputs, scores };
  resolvedEras.set(era, loaded);
  return loaded;
}

/** Replays a resolved era's payouts from the served scores, run inputs and era parameters. */
async function expectPayoutsReplay(era: number, views: Map<string, StakeBody>) {
  const { params, inputs, scores } = await resolvedEra(era);
  const { corrMultiplier: c, mmcMultiplier: m, clip, stakeThreshold } = params;
  const closing = { inputs };
  const total = closing.inputs.reduce((s, i) => s + Number(i.stake), 0);
  const pf = Math.min(1, stakeThreshold / total);
  for (const input of closing.inputs) {
    const view = views.get(input.modelId);
    if (!view) continue;
    const settled = view.history.filter((e) => (e.kind === 'payout' || e.kind === 'burn') && e.era === era);
    expect(settled, `era ${era} settles ${input.modelId} once`).toHaveLength(1);
    const score = scores.find((s) => s.modelId === input.modelId && !s.late);
    const factor = score?.corr == null || score?.mmc == null ? 0 : Math.min(clip, Math.max(-clip, pf * (c * score.corr + m * score.mmc)));
    const expected = Number(input.stake) * factor;
    const entry = settled[0];
    const before = Number(view.history[view.history.indexOf(entry) - 1].balance);
    const delta = Number(entry.delta);
    const tolerance = 1e-9 * Math.max(1, Number(input.stake));
    if (expected >= 0 || -expected < before - tolerance) {
      expect(Math.abs(delta - expected), `era ${era} payout of ${input.modelId}: ${delta} vs ${expected}`).toBeLessThanOrEqual(tolerance);
    } else if (-expected > before + tolerance) {
      expect(units(entry.delta), `era ${era}: a burn past the balance is cut at it`).toBe(-units(view.history[view.history.indexOf(entry) - 1].balance));
      expect(entry.note).toMatch(/cut at the balance/);
    }
  }
  // Nothing settled in this era beyond its at-risk models.
  for (const [modelId, view] of views) {
    if (!closing.inputs.some((i) => i.modelId === modelId)) expect(view.history.some((e) => (e.kind === 'payout' || e.kind === 'burn') && e.era === era)).toBe(false);
  }
}

async function expectReleasesWaited() {
  // A release left only once every era it waited for had resolved, and no release is left waiting for nothing.
  const { rows } = await t.database.pool.query(
    `select r.id from stake_releases r join stake_release_eras w on w.release_id = r.id join eras e on e.number = w.era_number
     where (r.released_at is not null and (e.resolved_at is null or e.resolved_at > r.released_at))
     union
     select r.id from stake_releases r where r.released_at is null and exists (select 1 from stake_release_eras w where w.release_id = r.id)
       and not exists (select 1 from stake_release_eras w join eras e on e.number = w.era_number where w.release_id = r.id and e.resolved_at is null)`,
  );
  expect(rows, 'releases out of turn').toEqual([]);
}

describe('the stake ledger under random sequences on two instances', () => {
  it('keeps every invariant after every step, and every payout replays', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 16, maxLength: 36 }), async (steps) => {
        const run = ++runCounter;
        const models: string[] = [];
        for (let k = 0; k < MODELS; k++) models.push((await ok(t.app, 'POST', '/v1/models', authorKey, { name: `prop_${run}_${k}` })).id);
        const eras: EraState[] = [];
        const instance = (i: number) => (i ? other.app : t.app);
        const choose = (status: EraState['status'], n: number, needsTarget?: boolean) => {
          const candidates = eras.filter((e) => e.status === status && (needsTarget === undefined || e.target === needsTarget));
          return candidates.length ? candidates[n % candidates.length] : undefined;
        };
        const submit = (app: FastifyInstance, model: string, era: number, seedValue: number) =>
          app.inject({ method: 'POST', url: `/v1/models/${model}/submissions?era=${era}`, headers: { ...bearer(authorKey), 'content-type': 'text/csv' }, payload: predictionsBody(seedValue) });
        const setStake = (app: FastifyInstance, model: string, value: string) => ok(app, 'PUT', `/v1/models/${model}/stake`, authorKey, { amount: value });
        const advance = (app: FastifyInstance, era: EraState, seedValue: number) => advanceEra(app, era, operatorKey, () => targetBody(seedValue));
        const unresolved = (n: number) => nthUnresolved(eras, n);
        for (const [k, model] of models.entries()) await setStake(instance(k % 2), model, String(100 * (k + 1)));

        for (const s of steps) {
          const app = instance(s.on);
          if (s.op === 'stake') await setStake(app, models[s.model], s.amount);
          else if (s.op === 'era') {
            const number = 1000 + ++eraCounter;
            await ok(app, 'POST', '/v1/eras', operatorKey, {
              number,
              opensAt: new Date(Date.now() - HOUR).toISOString(),
              closesAt: new Date(Date.now() + HOUR).toISOString(),
              payout: { clip: s.clip, corrMultiplier: s.corrMultiplier, mmcMultiplier: 2, stakeThreshold: 72000 },
            });
            await putUniverse(app, number, ids, operatorKey);
            for (const [k, yes] of s.submitters.entries()) if (yes) expect((await submit(app, models[k], number, s.seed + k)).statusCode).toBe(201);
            // Closed at once (or not): eras pile up closed with the same stakes at risk, as Numerai's overlapping rounds do.
            if (s.closed) await ok(instance(1 - s.on), 'POST', `/v1/eras/${number}/close`, operatorKey);
            eras.push({ number, status: s.closed ? 'closed' : 'open', target: false });
          } else if (s.op === 'submit') {
            const era = choose('open', s.era);
            if (era) expect((await submit(app, models[s.model], era.number, s.seed)).statusCode).toBe(201);
          } else {
            // 'race': a stake change on one instance while the other moves an era on (a close, a target, a resolution).
            const era = unresolved(s.era);
            await Promise.all([
              s.op === 'race' ? setStake(app, models[s.model], s.amount) : undefined,
              era ? advance(s.op === 'race' ? instance(1 - s.on) : app, era, s.seed) : undefined,
            ]);
          }

          const views = new Map<string, StakeBody>();
          for (const [k, model] of models.entries()) {
            const view = await stakeOf(instance(k % 2), authorKey, model);
            expectLedgerInvariants(view);
            views.set(model, view);
          }
          for (const era of eras) {
            if (era.status !== 'open' && (await t.database.pool.query('select 1 from submissions where era_number = $1 and not late', [era.number])).rowCount) {
              await expectAtRiskIsAmountAtCutoff(t.database.pool, era.number);
            }
            if (era.status === 'resolved') await expectPayoutsReplay(era.number, views);
            else for (const view of views.values()) expect(view.history.some((e) => e.era === era.number)).toBe(false);
          }
          // Each model's at-risk list is the unresolved closed eras it has a stake in.
          for (const view of views.values()) for (const r of view.atRisk) expect(eras.find((e) => e.number === r.era)?.status).toBe('closed');
          await expectReleasesWaited();
          // Under STAKE_FUNDING=open an unfunded raise is counted as a credit, so money is conserved here too.
          expect(await verifyMoney(t.database.db)).toMatchObject({ imbalance: '0', conserved: true });
        }
      }),
      { numRuns: 10, seed: 15, endOnFailure: true },
    );
    // The sequences reached every rule: burns into pending releases, burns cut at the balance, releases completed by a resolution.
    const { rows } = await t.database.pool.query(
      `select count(*) filter (where kind = 'payout' and delta > 0)::int as payouts, count(*) filter (where kind = 'burn')::int as burns,
              count(*) filter (where note like '%from pending releases%')::int as "burnsIntoReleases",
              count(*) filter (where note like '%cut at the balance%')::int as cuts,
              count(*) filter (where kind = 'released' and era_number is not null)::int as "releasedByResolution",
              count(distinct era_number) filter (where kind in ('payout', 'burn'))::int as "resolvedEras"
       from stake_entries`,
    );
    console.info('stake property coverage', rows[0]);
    for (const [what, n] of Object.entries(rows[0])) expect(n, what).toBeGreaterThan(0);
  }, 600_000);
});
