import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { correlationContribution, numeraiCorr, payout, unconstrainedMetaModel, type PayoutParams, type Series } from '../support/numerai-tools.js';
import type { EraScore as ServedScore } from '../../src/services/scoring.js';
import { activateReferenceExclusion } from '../support/policies.js';
import { reference } from '../support/reference.js';

const ref = reference.era;
const REF_MODELS = ['alpha', 'beta', 'gamma', 'delta'] as const;

let t: TestApp;
let operatorKey: string;
let authorKey: string;
let otherAuthorKey: string;
const refModelIds: Record<string, string> = {};

const csvOf = (series: Series, header = 'id,prediction') => `${header}\n${[...series].map(([id, v]) => `${id},${v}`).join('\n')}\n`;
const targetCsv = (series: Series) => csvOf(series, 'id,target');

async function close(era: number) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/close`, headers: bearer(operatorKey) });
  if (res.statusCode !== 200) throw new Error(`close: ${res.statusCode} ${res.body}`);
}

async function putTarget(era: number, name: string, csv: string, key = operatorKey) {
  return t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/${name}`, headers: { ...bearer(key), 'content-type': 'text/csv' }, payload: csv });
}

async function eraScores(era: number, target?: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/eras/${era}/scores${target ? `?target=${target}` : ''}`, headers: bearer(operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ era: number; target: string; metaModelCorr: number | null; scores: ServedScore[] }>();
}

const refTarget: Series = new Map(ref.ids.map((id, i) => [id, ref.target[i]]));
const refPredictions = (name: string): Series => new Map(Object.entries(ref.predictions[name]));

/** The reference era: its universe, the four models with their stakes and predictions, closed. */
async function referenceEra(number: number) {
  await createEra(t.app, { number, minCoverage: 0.9 }, operatorKey);
  await putUniverse(t.app, number, ref.ids, operatorKey);
  for (const name of REF_MODELS) {
    const res = await submitCsv(t.app, authorKey, refModelIds[name], number, csvOf(refPredictions(name)));
    expect(res.statusCode, res.body).toBe(201);
  }
  await close(number);
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  otherAuthorKey = (await createAccount(t.app, 'author')).apiKey;
  for (const name of REF_MODELS) refModelIds[name] = (await createModel(t.app, authorKey, name, String(ref.stakes[name]))).id;
});
afterAll(async () => t.close());

describe('the reference era', () => {
  it('the test oracle reproduces the reference (so the random era checks against numerai-tools)', () => {
    const models = REF_MODELS.map((name) => ({ predictions: refPredictions(name), stake: ref.stakes[name] }));
    const meta = unconstrainedMetaModel(ref.ids, models);
    for (const name of REF_MODELS) {
      expect(numeraiCorr(refPredictions(name), refTarget)).toBeCloseTo(ref.corr[name], 12);
      expect(correlationContribution(refPredictions(name), meta, refTarget)).toBeCloseTo(ref.mmc[name], 12);
      expect(payout(ref.stakes[name], ref.corr[name], ref.mmc[name], ref.payout.params, ref.payout.totalAtRisk)).toBeCloseTo(ref.payout.payouts[name], 12);
    }
  });

  it('serves CORR, MMC and payouts equal to numerai-tools to 1e-9', async () => {
    await referenceEra(1);
    const up = await putTarget(1, 'target', targetCsv(refTarget));
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toEqual({ era: 1, target: 'target', version: 1, count: 12, scored: 4 });

    const served = await eraScores(1);
    expect(served.target).toBe('target');
    expect(served.scores).toHaveLength(4);
    for (const name of REF_MODELS) {
      const row = served.scores.find((s) => s.modelId === refModelIds[name])!;
      expect(row).toMatchObject({ late: false, status: 'ok', stake: String(ref.stakes[name]) });
      expect(Math.abs(row.corr! - ref.corr[name])).toBeLessThan(1e-9);
      expect(Math.abs(row.mmc! - ref.mmc[name])).toBeLessThan(1e-9);
      expect(Math.abs(Number(row.payout) - ref.payout.payouts[name])).toBeLessThan(1e-9);
    }
    const value: Series = new Map(
      ((await t.app.inject({ method: 'GET', url: '/v1/eras/1/meta-model', headers: bearer(operatorKey) })).json().rows as { id: string; value: number }[]).map((r) => [
        r.id,
        r.value,
      ]),
    );
    expect(served.metaModelCorr).toBeCloseTo(numeraiCorr(value, refTarget)!, 12);
  });

  it('MMC is taken against the latest run, not the closing one', async () => {
    // A later run of era 1 (as a recompute after a policy correction leaves it) that excludes id00 and id02.
    const value = new Float64Array(ref.ids.length).fill(NaN);
    ref.exclusion.tradable.forEach((id, i) => (value[ref.ids.indexOf(id)] = ref.exclusion.value[i]));
    const bytes = Buffer.from(value.buffer);
    await t.database.pool.query(
      `insert into meta_model_runs (era_number, seq, trigger, models, total_stake, tradable, unconstrained, signal, value, excluded_by, observed_by, duration_ms)
       select era_number, 2, 'recompute', models, total_stake, 10, unconstrained, $1, $1, '{"0":["x"],"2":["x"]}', '{}', 0 from meta_model_runs where era_number = 1 and seq = 1`,
      [bytes],
    );
    const before = await eraScores(1);
    expect((await putTarget(1, 'target', targetCsv(refTarget))).statusCode).toBe(200);
    const after = await eraScores(1);
    for (const name of REF_MODELS) {
      const row = after.scores.find((s) => s.modelId === refModelIds[name])!;
      expect(Math.abs(row.mmc! - ref.exclusion.mmc[name])).toBeLessThan(1e-9);
      expect(row.corr).toBe(before.scores.find((s) => s.modelId === refModelIds[name])!.corr);
    }
    const tradable: Series = new Map(ref.exclusion.tradable.map((id, i) => [id, ref.exclusion.value[i]]));
    expect(after.metaModelCorr).toBeCloseTo(numeraiCorr(tradable, refTarget)!, 12);
  });

  it('a model reads its own history, also as CSV; another author may not', async () => {
    const url = `/v1/models/${refModelIds.alpha}/scores`;
    const own = await t.app.inject({ method: 'GET', url, headers: bearer(authorKey) });
    expect(own.statusCode).toBe(200);
    expect(own.json().scores).toEqual([expect.objectContaining({ era: 1, target: 'target', late: false, status: 'ok', stake: '100', payout: '5' })]);
    const csv = await t.app.inject({ method: 'GET', url, headers: { ...bearer(authorKey), accept: 'text/csv' } });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const [header, line] = csv.body.trim().split('\n');
    expect(header).toBe('era,target,late,status,corr,mmc,stake,payout,version');
    const cells = line.split(',');
    expect(cells.slice(0, 4)).toEqual(['1', 'target', 'false', 'ok']);
    expect(Math.abs(Number(cells[4]) - ref.corr.alpha)).toBeLessThan(1e-9);
    expect(cells.slice(6)).toEqual(['100', '5', '2']);
    expect((await t.app.inject({ method: 'GET', url, headers: bearer(operatorKey) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url, headers: bearer(ADMIN_KEY) })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'GET', url, headers: bearer(otherAuthorKey) }), 403);
    expectProblem(await t.app.inject({ method: 'GET', url }), 401);
  });
});

describe('a random era: 200 models × 1,500 ids against an independent numerai-tools', () => {
  const ERA = 10;
  const IDS = liveIds(1500, 'r');
  const random = rng(6);
  const params: PayoutParams = { corrMultiplier: 0.75, mmcMultiplier: 1.5, clip: 0.08, stakeThreshold: 72000 };
  const onTime = new Map<string, Series>();
  const late = new Map<string, Series>();
  const stakes = new Map<string, number>();
  const modelIds: string[] = [];

  /** Predictions over a random share of the ids; every fifth model rounds to one decimal (ties). */
  function predictions(k: number, coverage: number): Series {
    const series: Series = new Map();
    for (const id of IDS) {
      if (random() >= coverage) continue;
      const v = random();
      series.set(id, k % 5 === 2 ? Math.round(v * 10) / 10 : Math.round(v * 1e6) / 1e6);
    }
    return series;
  }

  /** Five bins, and no target for about 3 % of the ids. */
  function randomTarget(): Series {
    const series: Series = new Map();
    for (const id of IDS) if (random() >= 0.03) series.set(id, Math.floor(random() * 5) / 4);
    return series;
  }

  function expectMatches(served: ServedScore[], target: Series) {
    const atRisk = [...stakes.values()].reduce((s, v) => s + v, 0);
    const meta = unconstrainedMetaModel(IDS, [...stakes].map(([modelId, stake]) => ({ predictions: onTime.get(modelId)!, stake })));
    let paid = 0;
    for (const row of served) {
      const predictions = (row.late ? late : onTime).get(row.modelId)!;
      const corr = numeraiCorr(predictions, target);
      if (corr === null) {
        expect(row).toMatchObject({ status: 'insufficient_overlap', corr: null, mmc: null });
      } else {
        expect(row.status).toBe('ok');
        expect(Math.abs(row.corr! - corr)).toBeLessThan(1e-6);
        expect(Math.abs(row.mmc! - correlationContribution(predictions, meta, target))).toBeLessThan(1e-6);
      }
      const stake = stakes.get(row.modelId);
      if (row.late || stake === undefined) {
        expect(row).toMatchObject({ stake: null, payout: null });
        continue;
      }
      paid++;
      expect(Number(row.stake)).toBe(stake);
      const expected = corr === null ? 0 : payout(stake, corr, correlationContribution(predictions, meta, target), params, atRisk);
      expect(Math.abs(Number(row.payout) - expected)).toBeLessThan(1e-6);
    }
    expect(paid).toBe(stakes.size);
  }

  let target: Series;

  beforeAll(async () => {
    await createEra(t.app, { number: ERA, minCoverage: 0.7, payout: params }, operatorKey);
    await putUniverse(t.app, ERA, IDS, operatorKey);
    for (let k = 0; k < 200; k++) {
      // Some models stake nothing, some never set a stake: neither is at risk nor paid.
      const stake = k % 7 === 0 ? '0' : k % 13 === 0 ? undefined : (100 + Math.floor(random() * 90000) / 100).toFixed(2);
      const { id } = await createModel(t.app, authorKey, `random_${k}`, stake);
      modelIds.push(id);
      // A tenth covers 75 % (below the overlap rule once 3 % of targets are missing), a tenth 85 %.
      const series = predictions(k, k % 10 === 0 ? 0.75 : k % 10 === 1 ? 0.85 : 1);
      const res = await submitCsv(t.app, authorKey, id, ERA, csvOf(series));
      expect(res.statusCode, res.body).toBe(201);
      onTime.set(id, series);
      if (stake !== undefined && Number(stake) > 0) stakes.set(id, Number(stake));
    }
    await close(ERA);
    for (let k = 3; k < 200; k += 20) {
      // The first late submission is replaced by a second one: only the current one is scored.
      for (const attempt of [0, 1]) {
        const series = predictions(k, 1);
        expect((await submitCsv(t.app, authorKey, modelIds[k], ERA, csvOf(series))).statusCode).toBe(201);
        if (attempt === 1) late.set(modelIds[k], series);
      }
    }
    target = randomTarget();
  }, 120_000);

  it('every CORR, MMC and payout equals the independent computation to 1e-6; late submissions are scored, not paid', async () => {
    const up = await putTarget(ERA, 'target', targetCsv(target));
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toEqual({ era: ERA, target: 'target', version: 1, count: target.size, scored: 200 + late.size });
    const served = await eraScores(ERA);
    expect(served.scores).toHaveLength(200 + late.size);
    expect(served.scores.filter((s) => s.late)).toHaveLength(late.size);
    expect(served.scores.filter((s) => s.status === 'insufficient_overlap')).toHaveLength(20);
    expectMatches(served.scores, target);
  });

  it('re-uploading the target re-scores every submission', async () => {
    target = randomTarget();
    expect((await putTarget(ERA, 'target', targetCsv(target))).statusCode).toBe(200);
    expectMatches((await eraScores(ERA)).scores, target);
  });

  it('another target is scored but pays nothing; ?target= selects it', async () => {
    const other = randomTarget();
    const up = await putTarget(ERA, 'cyrus_60', targetCsv(other));
    expect(up.statusCode, up.body).toBe(200);
    const served = await eraScores(ERA, 'cyrus_60');
    expect(served.target).toBe('cyrus_60');
    expect(served.scores.every((s) => s.stake === null && s.payout === null)).toBe(true);
    const some = served.scores.find((s) => s.status === 'ok' && !s.late)!;
    expect(Math.abs(some.corr! - numeraiCorr(onTime.get(some.modelId)!, other)!)).toBeLessThan(1e-6);
    expect((await eraScores(ERA)).target).toBe('target');
  });

  it('bad target bodies are 400 naming the ids or lines, and change nothing', async () => {
    const before = await eraScores(ERA);
    const rows = [...target].map(([id, v]) => `${id},${v}`);
    type Located = { errors?: { ids?: string[]; lines?: number[]; indexes?: number[] }[] };
    const cases: [string, (body: Located) => void][] = [
      [`id,target\n${rows.slice(0, 5).join('\n')}\nnot_an_id,0.5\n`, (b) => expect(b.errors![0].ids).toEqual(['not_an_id'])],
      [`id,target\n${rows[0]}\n${IDS[1]},1.5\n${IDS[2]},-0.25\n`, (b) => expect(b.errors![0].lines).toEqual([3, 4])],
      [`id,target\n${rows[0]}\n${IDS[1]},NaN\n${IDS[2]},abc\n`, (b) => expect(b.errors!.flatMap((e) => e.lines).sort()).toEqual([3, 4])],
      [`id,target\n${rows[0]}\n${rows[0]}\n`, (b) => expect(b.errors![0].ids).toEqual([IDS[0]])],
      ['id,prediction\nr00000,0.5\n', (b) => expect(b.errors![0].lines).toEqual([1])],
      ['', () => {}],
    ];
    for (const [csv, check] of cases) check(expectProblem(await putTarget(ERA, 'target', csv), 400) as Located);
    const json = await t.app.inject({
      method: 'PUT',
      url: `/v1/eras/${ERA}/targets/target`,
      headers: bearer(operatorKey),
      payload: { ids: [IDS[0], IDS[1]], values: [0.5, 2] },
    });
    expect(expectProblem(json, 400).errors).toEqual([expect.objectContaining({ indexes: [1] })]);
    expectProblem(await t.app.inject({ method: 'PUT', url: `/v1/eras/${ERA}/targets/bad-name!`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: 'id,target\n' }), 400);
    expect(await eraScores(ERA)).toEqual(before);
  });
});

describe('state and roles', () => {
  it('a target needs a closed era with a run (409), an existing era (404) and an operator or admin key', async () => {
    await createEra(t.app, { number: 20 }, operatorKey);
    await putUniverse(t.app, 20, ref.ids, operatorKey);
    expectProblem(await putTarget(20, 'target', targetCsv(refTarget)), 409);
    expectProblem(await putTarget(404, 'target', targetCsv(refTarget)), 404);
    expectProblem(await putTarget(1, 'target', targetCsv(refTarget), authorKey), 403);
    expectProblem(await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { 'content-type': 'text/csv' }, payload: targetCsv(refTarget) }), 401);
    expect((await putTarget(1, 'target', targetCsv(refTarget), ADMIN_KEY)).statusCode).toBe(200);
  });

  it('era scores are for operators and admins; an unknown target is 404', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores', headers: bearer(authorKey) }), 403);
    expect((await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores', headers: bearer(ADMIN_KEY) })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores?target=nope', headers: bearer(operatorKey) }), 404);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/20/scores', headers: bearer(operatorKey) }), 404);
  });

  it('every upload is in the audit log', async () => {
    const { rows } = await t.database.pool.query(`select details from audit_log where action = 'target.upload' and subject = 'era:1' order by id`);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows[0].details).toMatchObject({ targets: [{ target: 'target', version: 1, count: 12 }], scored: 4, main: 'target' });
    expect(rows[1].details).toMatchObject({ targets: [{ target: 'target', version: 2, count: 12 }] });
  });
});

// Last: once a policy is active it applies to every era closed afterwards.
describe('under an exclusion policy', () => {
  it('MMC is taken over the tradable ids of the traded signal: the reference MMC under exclusion, to 1e-9', async () => {
    await activateReferenceExclusion(t.app, 'reference case');

    await referenceEra(30);
    expect((await putTarget(30, 'target', targetCsv(refTarget))).statusCode).toBe(200);
    const served = await eraScores(30);
    for (const name of REF_MODELS) {
      const row = served.scores.find((s) => s.modelId === refModelIds[name])!;
      expect(row.status).toBe('ok');
      expect(Math.abs(row.corr! - ref.corr[name])).toBeLessThan(1e-9);
      expect(Math.abs(row.mmc! - ref.exclusion.mmc[name])).toBeLessThan(1e-9);
      const expected = payout(ref.stakes[name], ref.corr[name], ref.exclusion.mmc[name], ref.payout.params, ref.payout.totalAtRisk);
      expect(Math.abs(Number(row.payout) - expected)).toBeLessThan(1e-9);
    }
    const tradable: Series = new Map(ref.exclusion.tradable.map((id, i) => [id, ref.exclusion.value[i]]));
    expect(served.metaModelCorr).toBeCloseTo(numeraiCorr(tradable, refTarget)!, 12);
  });
});
