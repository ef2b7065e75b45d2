import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createModel, liveIds, rng } from '../support/fixtures.js';
import { correlationContribution, numeraiCorr, payout, unconstrainedMetaModel, type Series } from '../support/numerai-tools.js';
import { tournament, type ServedScore } from '../support/tournament.js';

/*
 * Targets are versioned: every upload before resolution is a new version, kept with its
 * scores; the current score and the payout are on the latest version; several targets
 * uploaded at once are scored exactly as when uploaded one by one.
 */

const IDS = liveIds(60, 'tv');
const random = rng(1616);
const BINS = [0, 0.25, 0.5, 0.75, 1];
const randomTarget = (ids = IDS): Series => new Map(ids.map((id) => [id, BINS[Math.floor(random() * 5)]]));
const randomPredictions = (ids = IDS): Series => new Map(ids.map((id) => [id, Math.round(random() * 1000) / 1000]));
const STAKES = [100, 250, 40, 0, 75];

let t: TestApp;
let drive: ReturnType<typeof tournament>;
let operatorKey: string;
const models: { id: string; name: string; stake: number }[] = [];
const predictions = new Map<number, Map<string, Series>>();

/** An era with every model's on-time submission (all ids; the last model leaves 5 % out), closed. */
async function era(number: number) {
  await drive.openEra(number, IDS, { minCoverage: 0.9 });
  const byModel = new Map<string, Series>();
  for (const [k, model] of models.entries()) {
    const series = randomPredictions(k === models.length - 1 ? IDS.slice(3) : IDS);
    await drive.submit(model.id, number, series);
    byModel.set(model.id, series);
  }
  predictions.set(number, byModel);
  await drive.close(number);
}

function metaOf(number: number): Series {
  const staked = models.filter((m) => m.stake > 0).map((m) => ({ predictions: predictions.get(number)!.get(m.id)!, stake: m.stake }));
  return unconstrainedMetaModel(IDS, staked);
}

function expectOracle(scores: ServedScore[], number: number, target: Series, only = (_s: ServedScore) => !_s.late) {
  const meta = metaOf(number);
  const checked = scores.filter(only);
  expect(checked.length).toBeGreaterThan(0);
  for (const row of checked) {
    const p = predictions.get(number)!.get(row.modelId)!;
    expect(Math.abs(row.corr! - numeraiCorr(p, target)!)).toBeLessThan(1e-9);
    expect(Math.abs(row.mmc! - correlationContribution(p, meta, target))).toBeLessThan(1e-9);
  }
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  const authorKey = (await createAccount(t.app, 'author')).apiKey;
  drive = tournament(t.app, { operator: operatorKey, author: authorKey });
  for (const [k, stake] of STAKES.entries()) {
    const name = `versioned_${k}`;
    models.push({ id: (await createModel(t.app, authorKey, name, String(stake))).id, name, stake });
  }
  await era(1);
  await era(2);
});
afterAll(async () => t.close());

describe('target versions', () => {
  const first = randomTarget();
  const second = randomTarget();

  it('every upload is a new version, kept with its scores; the era scores show the latest', async () => {
    expect(await drive.putTarget(1, 'target', first)).toMatchObject({ version: 1, count: 60, scored: models.length });
    expect(await drive.putTarget(1, 'target', second)).toMatchObject({ version: 2, count: 60, scored: models.length });
    expect(await drive.putTarget(1, 'cyrus_60', first)).toMatchObject({ version: 1 });

    const latest = await drive.eraScores(1, 'target');
    expect(latest.version).toBe(2);
    expect(latest.scores.map((s) => s.model)).toEqual(models.map((m) => m.name));
    expectOracle(latest.scores, 1, second);
    const kept = await drive.eraScores(1, 'target', 1);
    expect(kept.version).toBe(1);
    expectOracle(kept.scores, 1, first);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores?target=target&version=3', headers: bearer(operatorKey) }), 404);
  });

  it("a model's score history lists every version; its current scores are on the latest", async () => {
    const model = models[1];
    const res = await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/scores?era=1&target=target`, headers: bearer(operatorKey) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ model: string; scores: { era: number; target: string; version: number; corr: number }[]; history: { version: number; uploadedAt: string; corr: number; mmc: number }[] }>();
    expect(body.model).toBe(model.name);
    const p = predictions.get(1)!.get(model.id)!;
    expect(body.history.map((h) => h.version)).toEqual([1, 2]);
    expect(Math.abs(body.history[0].corr - numeraiCorr(p, first)!)).toBeLessThan(1e-9);
    expect(Math.abs(body.history[1].corr - numeraiCorr(p, second)!)).toBeLessThan(1e-9);
    expect(Date.parse(body.history[1].uploadedAt)).toBeGreaterThanOrEqual(Date.parse(body.history[0].uploadedAt));
    const current = body.scores.filter((s) => s.era === 1).map((s) => [s.target, s.version]);
    expect(current).toEqual([['cyrus_60', 1], ['target', 2]]);
    const half = await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/scores?era=1`, headers: bearer(operatorKey) });
    expect(expectProblem(half, 400).detail).toMatch(/era and target go together/);
  });

  it('a late submission is scored on arrival on the latest version of every target', async () => {
    const late = randomPredictions();
    const { id } = await drive.submit(models[3].id, 1, late, true);
    predictions.get(1)!.set(`late:${models[3].id}`, late);
    const meta = metaOf(1);
    for (const [name, target] of [['target', second], ['cyrus_60', first]] as const) {
      const row = (await drive.eraScores(1, name)).scores.find((s) => s.submissionId === id)!;
      expect(row).toMatchObject({ late: true, stake: null, payout: null });
      expect(Math.abs(row.corr! - numeraiCorr(late, target)!)).toBeLessThan(1e-9);
      expect(Math.abs(row.mmc! - correlationContribution(late, meta, target))).toBeLessThan(1e-9);
    }
    expect((await drive.eraScores(1, 'target', 1)).scores.find((s) => s.submissionId === id)).toBeUndefined();
  });

  it('resolution pays on the latest version of the main target; afterwards no version is taken', async () => {
    await drive.resolve(1);
    const meta = metaOf(1);
    const atRisk = models.filter((m) => m.stake > 0);
    const total = atRisk.reduce((s, m) => s + m.stake, 0);
    const params = { corrMultiplier: 0.5, mmcMultiplier: 2, clip: 0.05, stakeThreshold: 72000 };
    const { rows } = await t.database.pool.query<{ model_id: string; delta: string }>(`select model_id, delta::text from stake_entries where kind in ('payout', 'burn') and era_number = 1`);
    expect(rows).toHaveLength(atRisk.length);
    for (const model of atRisk) {
      const p = predictions.get(1)!.get(model.id)!;
      const expected = payout(model.stake, numeraiCorr(p, second)!, correlationContribution(p, meta, second), params, total);
      expect(Math.abs(Number(rows.find((r) => r.model_id === model.id)!.delta) - expected)).toBeLessThan(1e-9);
    }
    const refused = await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: 'id,target\ntv00000,0\n' });
    expect(expectProblem(refused, 409).detail).toMatch(/resolved; its targets are final/);
  });
});

describe('several targets in one upload', () => {
  // One target leaves ids out, so its group of ids differs from the others'.
  const targets: Record<string, Series> = { ender_20: randomTarget(), cyrus_60: randomTarget(), teager_20: randomTarget(), sparse: randomTarget(IDS.slice(5)) };
  const names = Object.keys(targets);
  const rowsOf = async (name: string, version: number) =>
    (await t.database.pool.query(
      `select submission_id, status, corr, mmc, stake::text, payout::text from scores where era_number = 2 and target = $1 and target_version = $2 order by submission_id`,
      [name, version],
    )).rows;

  it('scores every column exactly as the same targets uploaded one by one, number for number', async () => {
    for (const name of names) expect(await drive.putTarget(2, name, name === 'sparse' ? fill(targets[name]) : targets[name])).toMatchObject({ version: 1 });
    // The same values as CSV columns (the sparse one's missing ids as empty cells are not allowed, so send it alone below).
    const dense = Object.fromEntries(names.filter((n) => n !== 'sparse').map((n) => [n, targets[n]]));
    const up = await drive.putTargets(2, { ...dense, sparse: fill(targets.sparse) });
    expect(up).toEqual({ era: 2, targets: names.map((n) => ({ target: n, version: 2, count: 60 })), scored: models.length });
    for (const name of names) {
      const one = await rowsOf(name, 1);
      expect(one).toHaveLength(models.length);
      expect(await rowsOf(name, 2)).toEqual(one);
    }
    expectOracle((await drive.eraScores(2, 'ender_20')).scores, 2, targets.ender_20);
  });

  it('takes the JSON shape too, ids without a row having no target', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/2/targets',
      headers: bearer(operatorKey),
      payload: { ids: IDS.slice(5), targets: { sparse: [...targets.sparse.values()], target: [...targets.cyrus_60.values()].slice(5) } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().targets).toEqual([{ target: 'sparse', version: 3, count: 55 }, { target: 'target', version: 1, count: 55 }]);
    const single = await drive.putTarget(2, 'sparse', targets.sparse);
    expect(single.version).toBe(4);
    expect(await rowsOf('sparse', 3)).toEqual(await rowsOf('sparse', 4));
    expectOracle((await drive.eraScores(2, 'sparse')).scores, 2, targets.sparse, (s) => s.status === 'ok');
  });

  it('refuses a bad upload naming the column and the ids, and stores nothing', async () => {
    const before = (await t.database.pool.query('select count(*)::int as n from targets')).rows[0].n;
    const body = `id,ender_20,cyrus_60\n${IDS.map((id, i) => `${i === 7 ? 'nope' : id},${i === 3 ? 1.5 : 0.5},${i === 4 ? 'x' : 0.25}`).join('\n')}\n`;
    const res = await t.app.inject({ method: 'PUT', url: '/v1/eras/2/targets', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: body });
    const problem = expectProblem(res, 400) as unknown as { errors: { code: string; column?: string; ids?: string[]; lines?: number[] }[] };
    expect(problem.errors.map((e) => [e.code, e.column, e.ids, e.lines])).toEqual([
      ['unknown_ids', undefined, ['nope'], [9]],
      ['non_numeric', 'cyrus_60', undefined, [6]],
      ['out_of_range', 'ender_20', undefined, [5]],
    ]);
    expect((await t.database.pool.query('select count(*)::int as n from targets')).rows[0].n).toBe(before);
  });
});

/** The sparse target as a full column: ids it leaves out get the middle bin (used only where every column needs a value). */
function fill(series: Series): Series {
  return new Map(IDS.map((id) => [id, series.get(id) ?? 0.5]));
}
