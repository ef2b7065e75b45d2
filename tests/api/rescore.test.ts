import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, putUniverse, submitCsv } from '../support/fixtures.js';
import { correlationContribution, numeraiCorr, payout, unconstrainedMetaModel, type Series } from '../support/numerai-tools.js';
import type { EraScore as ServedScore } from '../../src/services/scoring.js';
import { activateReferenceExclusion } from '../support/policies.js';
import { reference } from '../support/reference.js';

const ref = reference.era;
const REF_MODELS = ['alpha', 'beta', 'gamma', 'delta'] as const;
const ERA = 1;

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const modelIds: Record<string, string> = {};

const csvOf = (series: Series, header = 'id,prediction') => `${header}\n${[...series].map(([id, v]) => `${id},${v}`).join('\n')}\n`;
const refTarget: Series = new Map(ref.ids.map((id, i) => [id, ref.target[i]]));
const refPredictions = (name: string): Series => new Map(Object.entries(ref.predictions[name]));
/** Predictions unlike any reference model's: a permutation of twelve distinct values. */
const latePredictions = (step: number): Series => new Map(ref.ids.map((id, i) => [id, ((i * step) % 12) / 12]));
const meta = unconstrainedMetaModel(
  ref.ids,
  REF_MODELS.map((name) => ({ predictions: refPredictions(name), stake: ref.stakes[name] })),
);
/** The traded signal under the reference exclusion: M over the tradable ids only. */
const tradedMeta: Series = new Map([...meta].filter(([id]) => ref.exclusion.tradable.includes(id)));

const putTarget = (name: string) =>
  t.app.inject({ method: 'PUT', url: `/v1/eras/${ERA}/targets/${name}`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: csvOf(refTarget, 'id,target') });

async function eraScores(target = 'target') {
  const res = await t.app.inject({ method: 'GET', url: `/v1/eras/${ERA}/scores?target=${target}`, headers: bearer(operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json<{ scores: ServedScore[] }>()).scores;
}

async function submitLate(name: string, predictions: Series) {
  const res = await submitCsv(t.app, authorKey, modelIds[name], ERA, csvOf(predictions));
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json().late).toBe(true);
  return res.json<{ id: string }>();
}

async function scoredRunIds(): Promise<string[]> {
  const { rows } = await t.database.pool.query<{ run_id: string }>('select distinct run_id from scores where era_number = $1', [ERA]);
  return rows.map((r) => r.run_id);
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (const name of REF_MODELS) modelIds[name] = (await createModel(t.app, authorKey, name, String(ref.stakes[name]))).id;
  modelIds.latecomer = (await createModel(t.app, authorKey, 'latecomer', '30')).id;

  await createEra(t.app, { number: ERA, minCoverage: 0.9 }, operatorKey);
  await putUniverse(t.app, ERA, ref.ids, operatorKey);
  for (const name of REF_MODELS) expect((await submitCsv(t.app, authorKey, modelIds[name], ERA, csvOf(refPredictions(name)))).statusCode).toBe(201);
  const closed = await t.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/close`, headers: bearer(operatorKey) });
  expect(closed.statusCode, closed.body).toBe(200);
  for (const name of ['target', 'cyrus_60']) expect((await putTarget(name)).statusCode).toBe(200);
});
afterAll(async () => t.close());

describe('a late submission after a target upload', () => {
  it('is scored on every stored target at once, against the latest run, and never paid', async () => {
    const predictions = latePredictions(5);
    const { id } = await submitLate('latecomer', predictions);
    for (const target of ['target', 'cyrus_60']) {
      const served = await eraScores(target);
      expect(served).toHaveLength(5);
      const row = served.find((s) => s.modelId === modelIds.latecomer)!;
      expect(row).toMatchObject({ submissionId: id, late: true, status: 'ok', stake: null, payout: null });
      expect(Math.abs(row.corr! - numeraiCorr(predictions, refTarget)!)).toBeLessThan(1e-9);
      expect(Math.abs(row.mmc! - correlationContribution(predictions, meta, refTarget))).toBeLessThan(1e-9);
    }
  });

  it('a replacement takes its place; a staked model keeps its paid on-time row next to its late one', async () => {
    const replacement = latePredictions(7);
    const { id } = await submitLate('latecomer', replacement);
    const alphaLate = latePredictions(11);
    await submitLate('alpha', alphaLate);
    const served = await eraScores();
    expect(served).toHaveLength(6);
    const latecomer = served.filter((s) => s.modelId === modelIds.latecomer);
    expect(latecomer).toEqual([expect.objectContaining({ submissionId: id, late: true })]);
    expect(Math.abs(latecomer[0].corr! - numeraiCorr(replacement, refTarget)!)).toBeLessThan(1e-9);
    const { rows } = await t.database.pool.query('select count(*)::int as n from scores where model_id = $1', [modelIds.latecomer]);
    expect(rows[0].n).toBe(2);

    const alpha = served.filter((s) => s.modelId === modelIds.alpha);
    expect(alpha.map((s) => [s.late, s.stake])).toEqual([[false, '100'], [true, null]]);
    expect(Math.abs(alpha[1].mmc! - correlationContribution(alphaLate, meta, refTarget))).toBeLessThan(1e-9);
  });
});

describe('a recompute after the targets were uploaded', () => {
  it('re-scores every stored target against the new run: its id, its MMC, its payouts', async () => {
    const [closing] = await scoredRunIds();
    const policyId = await activateReferenceExclusion(t.app, 'correction');
    // A run applies the version in force for its era and the API activates only for eras to come: move it back, as a corrected policy.
    await t.database.pool.query(`update policy_activations set from_era = $1 where policy_id = $2`, [ERA, policyId]);

    const recompute = await t.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/meta-model/compute`, headers: bearer(operatorKey) });
    expect(recompute.statusCode, recompute.body).toBe(200);
    const run = recompute.json<{ id: string; seq: number; policy: { name: string } | null }>();
    expect(run).toMatchObject({ seq: 2, policy: { name: 'reference-exclusion' } });
    expect(run.id).not.toBe(closing);
    expect(await scoredRunIds()).toEqual([run.id]);

    for (const target of ['target', 'cyrus_60']) {
      const served = await eraScores(target);
      expect(served).toHaveLength(6);
      for (const name of REF_MODELS) {
        const row = served.find((s) => s.modelId === modelIds[name] && !s.late)!;
        expect(Math.abs(row.corr! - ref.corr[name])).toBeLessThan(1e-9);
        expect(Math.abs(row.mmc! - ref.exclusion.mmc[name])).toBeLessThan(1e-9);
        if (target !== 'target') continue;
        const expected = payout(ref.stakes[name], ref.corr[name], ref.exclusion.mmc[name], ref.payout.params, ref.payout.totalAtRisk);
        expect(Math.abs(Number(row.payout) - expected)).toBeLessThan(1e-9);
      }
      const late = served.find((s) => s.modelId === modelIds.latecomer)!;
      expect(late).toMatchObject({ late: true, stake: null, payout: null });
      expect(Math.abs(late.mmc! - correlationContribution(latePredictions(7), tradedMeta, refTarget))).toBeLessThan(1e-9);
    }
    const audit = await t.database.pool.query(`select details from audit_log where action = 'metamodel.recompute' and subject = $1`, [`era:${ERA}`]);
    expect(audit.rows).toEqual([{ details: expect.objectContaining({ run: run.id, rescored: ['cyrus_60', 'target'] }) }]);
  });

  it('a late submission afterwards is scored against that run too; once resolved, one is scored on the final targets for its author only', async () => {
    const predictions = latePredictions(5);
    await submitLate('latecomer', predictions);
    const row = (await eraScores()).find((s) => s.modelId === modelIds.latecomer)!;
    expect(Math.abs(row.mmc! - correlationContribution(predictions, tradedMeta, refTarget))).toBeLessThan(1e-9);
    expect((await scoredRunIds()).length).toBe(1);

    const resolved = await t.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/resolve`, headers: bearer(operatorKey) });
    expect(resolved.statusCode, resolved.body).toBe(200);
    const before = await eraScores();
    const diagnostic = latePredictions(7);
    const { id } = await submitLate('latecomer', diagnostic);
    const after = await eraScores();
    const scored = after.find((s) => s.submissionId === id)!;
    expect(scored).toMatchObject({ late: true, status: 'ok', stake: null, payout: null });
    expect(Math.abs(scored.corr! - numeraiCorr(diagnostic, refTarget)!)).toBeLessThan(1e-9);
    expect(Math.abs(scored.mmc! - correlationContribution(diagnostic, tradedMeta, refTarget))).toBeLessThan(1e-9);
    expect(after.filter((s) => s.modelId !== modelIds.latecomer)).toEqual(before.filter((s) => s.modelId !== modelIds.latecomer));
    // Counted in neither payouts nor the results performance and the leaderboard read.
    const paid = await t.database.pool.query(`select count(*)::int as n from stake_entries where kind in ('payout', 'burn') and model_id = $1`, [modelIds.latecomer]);
    expect(paid.rows[0].n).toBe(0);
    const results = await t.database.pool.query(`select count(*)::int as n from model_era_results where model_id = $1`, [modelIds.latecomer]);
    expect(results.rows[0].n).toBe(0);
  });
});
