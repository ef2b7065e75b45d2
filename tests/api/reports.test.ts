import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, startReplica, type TestApp } from '../support/app.js';
import { createEra, createModel, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra, setStake } from '../support/metamodel.js';
import { numeraiCorr, tieKeptRank, unconstrainedMetaModel, type Series } from '../support/numerai-tools.js';
import { putUniverseRows, type UniverseJsonRow } from '../support/policies.js';
import { reference } from '../support/reference.js';

const ref = reference.era;

interface Report {
  era: number;
  closedAt: string;
  run: { seq: number; trigger: string; computedAt: string };
  universeSize: number;
  tradable: number;
  excluded: { count: number; share: number };
  observed: { count: number; share: number };
  byRule: { ruleId: string; description: string | null; action: string; matched: number; excluded: number; observed: number; excludedShare: number; observedShare: number }[];
  policy: { name: string; version: number; mode: string; wouldBe: unknown } | null;
  policyCost: number | null;
  stake: { models: number; total: string; gini: number; nakamoto50: number; effectiveModels: number; top10Share: number };
  stakeDeciles: { decile: number; lastDecile: number; models: number; stakeShare: number }[] | null;
  sectorTilt: { sector: string; ids: number; unconstrained: number | null; traded: number | null; byStakeDecile: number[] | null }[];
  metaModelCorr: { target: string; main: boolean; corr: number | null }[];
}

interface Summary {
  targets: string[];
  eras: {
    era: number;
    closedAt: string;
    universeSize: number;
    tradable: number;
    excludedShare: number;
    observedShare: number;
    policy: { name: string; version: number; mode: string } | null;
    policyCost: number | null;
    stake: Report['stake'];
    metaModelCorr: Record<string, number | null>;
    change: Record<string, unknown> | null;
  }[];
}

const TOLERANCE = 1e-9;
const close = (actual: number | null, expected: number, tolerance = TOLERANCE) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
};

/*
 * Independent statements of the report figures on plain arrays (docs/reports.md).
 */

/** Sector label per id, sectors under 5 ids (and none) folded into 'other'. */
function foldedSectors(rows: { sector: string | null }[]): string[] {
  const sizes = new Map<string, number>();
  for (const { sector } of rows) if (sector) sizes.set(sector, (sizes.get(sector) ?? 0) + 1);
  return rows.map(({ sector }) => (sector && sizes.get(sector)! >= 5 ? sector : 'other'));
}

/** Mean per sector over the ids that have a value. */
function plainSectorMeans(values: (number | undefined)[], sectors: string[]): Map<string, number> {
  const sums = new Map<string, [number, number]>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    const [sum, count] = sums.get(sectors[i]) ?? [0, 0];
    sums.set(sectors[i], [sum + v, count + 1]);
  });
  return new Map([...sums].map(([sector, [sum, count]]) => [sector, sum / count]));
}

function plainConcentration(stakes: number[]) {
  const total = stakes.reduce((a, b) => a + b, 0);
  const shares = stakes.map((s) => s / total).sort((a, b) => b - a);
  let pairs = 0;
  for (const a of shares) for (const b of shares) pairs += Math.abs(a - b);
  let held = 0;
  let nakamoto50 = 0;
  while (held < 0.5) held += shares[nakamoto50++];
  return {
    models: stakes.length,
    gini: pairs / (2 * stakes.length),
    nakamoto50,
    effectiveModels: 1 / shares.reduce((a, p) => a + p * p, 0),
    top10Share: shares.slice(0, 10).reduce((a, b) => a + b, 0),
  };
}

function plainSpearman(a: number[], b: number[]): number {
  const ra = tieKeptRank(a);
  const rb = tieKeptRank(b);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  ra.forEach((v, i) => {
    ab += (v - ma) * (rb[i] - mb);
    aa += (v - ma) ** 2;
    bb += (rb[i] - mb) ** 2;
  });
  return ab / Math.sqrt(aa * bb);
}

/** A stored float64 LE vector, decoded without the service's code. */
function float64s(buf: Buffer): number[] {
  return Array.from({ length: buf.length / 8 }, (_, i) => buf.readDoubleLE(8 * i));
}

/*
 * Fixtures: a universe with sectors of every size, twelve staked models with distinct stakes
 * whose predictions lean by sector (the large ones towards 10, the small ones towards 25).
 */

const STAKES = ['5000', '2500', '1200', '800', '640', '300', '150', '90', '40', '25.5', '10', '3.25'];
const TARGET_BINS = [0, 0.25, 0.5, 0.75, 1];

function universe(era: number): UniverseJsonRow[] {
  return Array.from({ length: 48 }, (_, i) => {
    const sector = i < 10 ? '10' : i < 20 ? '15' : i < 28 ? '20' : i < 36 ? '25' : i < 42 ? '30' : i < 45 ? '45' : i < 47 ? '50' : null;
    const tags = [...(i % 9 === 4 ? ['tobacco'] : []), ...(i % 11 === 7 ? ['defense'] : [])];
    return { id: `tk${era}n${String(i).padStart(3, '0')}`, sector, industry: sector === null ? null : `${sector}1010`, country: 'US', tags, attributes: {} };
  });
}

function leaningPredictions(rows: UniverseJsonRow[], k: number, seed: number): number[] {
  const random = rng(seed);
  const favourite = k < 4 ? '10' : '25';
  return rows.map((row) => Math.round(Math.min(1, Math.max(0, 0.35 + (row.sector === favourite ? 0.3 : 0) + 0.35 * random())) * 1e6) / 1e6);
}

const POLICY = {
  name: 'report-ethics',
  description: 'tobacco out, defense watched, half sector neutral',
  mode: 'enforce',
  rules: [
    { id: 'tobacco', description: 'tobacco tag', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude' } },
    { id: 'defense-watch', description: 'defense tag', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
  ],
  neutralize: { by: 'sector', proportion: 0.5 },
};

let t: TestApp;
let operatorKey: string;
const secrets: string[] = [];
const rowsByEra = new Map<number, UniverseJsonRow[]>();
const predictionsByEra = new Map<number, Map<string, number[]>>();
const targetsByEra = new Map<number, Map<string, number[]>>();
const models: { id: string; name: string; stake: number }[] = [];
const refModels: { id: string; name: string }[] = [];
let authorKey: string;

async function putTarget(era: number, name: string, values: number[]) {
  const ids = rowsByEra.get(era)!.map((r) => r.id);
  const res = await t.app.inject({
    method: 'PUT',
    url: `/v1/eras/${era}/targets/${name}`,
    headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
    payload: `id,target\n${ids.map((id, i) => `${id},${values[i]}`).join('\n')}\n`,
  });
  expect(res.statusCode, res.body).toBe(200);
  targetsByEra.set(era, (targetsByEra.get(era) ?? new Map()).set(name, values));
}

async function leaningEra(era: number) {
  await createEra(t.app, { number: era }, operatorKey);
  const rows = universe(era);
  rowsByEra.set(era, rows);
  await putUniverseRows(t.app, era, rows, operatorKey);
  const predictions = new Map<string, number[]>();
  for (const [k, model] of models.entries()) {
    const values = leaningPredictions(rows, k, era * 100 + k);
    predictions.set(model.id, values);
    const res = await submitCsv(t.app, authorKey, model.id, era, predictionsCsv(rows.map((r) => r.id), values));
    expect(res.statusCode, res.body).toBe(201);
    secrets.push((res.json<{ id: string }>()).id);
  }
  predictionsByEra.set(era, predictions);
  secrets.push((await closeEra(t.app, era, operatorKey)).run.id);
}

async function report(era: number): Promise<Report> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Report>();
}

interface SummaryPage extends Summary {
  next: string | null;
  cumulativeCost: { target: string; eras: number; unconstrained: number; traded: number; cost: number }[];
}

async function summaryPage(query = ''): Promise<SummaryPage> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/reports/summary${query}` });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.body.length).toBeLessThanOrEqual(256 * 1024);
  return res.json<SummaryPage>();
}

/** Every page of the summary, `limit` eras at a time, joined: eras newest first, the targets of them all. */
async function summary(limit?: number): Promise<SummaryPage> {
  const pages: SummaryPage[] = [];
  let next: string | null = null;
  do {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (next !== null) query.set('cursor', next);
    const page = await summaryPage(query.size === 0 ? '' : `?${query.toString()}`);
    if (limit !== undefined) expect(page.eras.length).toBeLessThanOrEqual(limit);
    pages.push(page);
    next = page.next;
  } while (next !== null && pages.length < 100);
  expect(next).toBeNull();
  for (const page of pages) expect(page.cumulativeCost).toEqual(pages[0].cumulativeCost);
  return {
    eras: pages.flatMap((page) => page.eras),
    targets: [...new Set(pages.flatMap((page) => page.targets))].sort(),
    next: null,
    cumulativeCost: pages[0].cumulativeCost,
  };
}

/** The latest run's stored vectors, read straight from the table. */
async function storedRun(era: number) {
  const { rows } = await t.database.pool.query<{ unconstrained: Buffer; signal: Buffer; value: Buffer }>(
    'select unconstrained, signal, value from meta_model_runs where era_number = $1 order by seq desc limit 1',
    [era],
  );
  return { unconstrained: float64s(rows[0].unconstrained), signal: float64s(rows[0].signal), value: float64s(rows[0].value) };
}

/** M from the submissions and stakes, with numerai-tools' definitions. */
function independentM(era: number, which: { id: string; stake: number }[]): number[] {
  const ids = rowsByEra.get(era)!.map((r) => r.id);
  const predictions = predictionsByEra.get(era)!;
  const m = unconstrainedMetaModel(
    ids,
    which.map((model) => ({ stake: model.stake, predictions: new Map(ids.map((id, i) => [id, predictions.get(model.id)![i]])) })),
  );
  return ids.map((id) => m.get(id)!);
}

beforeAll(async () => {
  t = await createTestApp();
  const operator = await createAccount(t.app, 'operator', 'rpt-operator-acct');
  const author = await createAccount(t.app, 'author', 'rpt-author-acct');
  const checker = await createAccount(t.app, 'admin', 'rpt-checker-acct');
  operatorKey = operator.apiKey;
  authorKey = author.apiKey;
  const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ADMIN_KEY) })).json<{ id: string; name: string }>();
  secrets.push(operator.id, operator.name, operator.keyId, author.id, author.name, author.keyId, checker.id, checker.name, checker.keyId, me.id, me.name);

  // Era 1: the reference era, its four models staked as the reference says.
  await createEra(t.app, { number: 1, minCoverage: 0.9 }, operatorKey);
  rowsByEra.set(1, ref.ids.map((id, i) => ({ id, sector: ref.sectors[i], industry: null, country: null, tags: [], attributes: {} })));
  await putUniverseRows(t.app, 1, rowsByEra.get(1)!, operatorKey);
  for (const name of Object.keys(ref.predictions)) {
    const model = await createModel(t.app, authorKey, `rpt_ref_${name}`, String(ref.stakes[name]));
    refModels.push(model);
    const csv = `id,prediction\n${Object.entries(ref.predictions[name]).map(([id, v]) => `${id},${v}`).join('\n')}\n`;
    const res = await submitCsv(t.app, authorKey, model.id, 1, csv);
    expect(res.statusCode, res.body).toBe(201);
    secrets.push((res.json<{ id: string }>()).id);
  }
  secrets.push((await closeEra(t.app, 1, operatorKey)).run.id);

  // Era 2: no policy, two targets.
  for (const [k, stake] of STAKES.entries()) {
    const model = await createModel(t.app, authorKey, `rptm_${String.fromCharCode(97 + k)}_model`, stake);
    models.push({ ...model, stake: Number(stake) });
  }
  await leaningEra(2);
  const random = rng(7);
  await putTarget(2, 'target', rowsByEra.get(2)!.map(() => TARGET_BINS[Math.floor(random() * 5)]));
  await putTarget(2, 'cyrus_60', rowsByEra.get(2)!.map(() => TARGET_BINS[Math.floor(random() * 5)]));

  // Era 3: a policy in force and the largest stake cut.
  const policy = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: POLICY });
  expect(policy.statusCode, policy.body).toBe(201);
  const policyId = (policy.json<{ id: string }>()).id;
  secrets.push(policyId);
  const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${policyId}/activate`, headers: bearer(checker.apiKey), payload: { reason: 'reports test' } });
  expect(activated.statusCode, activated.body).toBe(200);
  await setStake(t.app, authorKey, models[0].id, '3000');
  models[0].stake = 3000;
  await leaningEra(3);
  await putTarget(3, 'target', rowsByEra.get(3)!.map(() => TARGET_BINS[Math.floor(random() * 5)]));

  // Era 4 stays open.
  await createEra(t.app, { number: 4 }, operatorKey);
  for (const model of [...models, ...refModels]) secrets.push(model.id, model.name);
  for (const rows of rowsByEra.values()) for (const row of rows) secrets.push(row.id);
});
afterAll(async () => t.close());

describe('GET /v1/reports/eras/:number', () => {
  it('is public, and a problem for an era that does not exist (404) or has not closed (409)', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/reports/eras/99' }), 404);
    const open = expectProblem(await t.app.inject({ method: 'GET', url: '/v1/reports/eras/4' }), 409);
    expect(open.detail).toMatch(/not closed/);
  });

  it('gives the reference stake statistics for the reference era', async () => {
    const r = await report(1);
    expect(r.stake.models).toBe(ref.stakeStats.models);
    expect(r.stake.total).toBe('185.5');
    close(r.stake.gini, ref.stakeStats.gini);
    expect(r.stake.nakamoto50).toBe(ref.stakeStats.nakamoto50);
    close(r.stake.effectiveModels, ref.stakeStats.effectiveModels);
    close(r.stake.top10Share, ref.stakeStats.top10Share);
    // Every reference sector has 3 ids: all fold into 'other', whose tilt is the mean of M.
    expect(r.sectorTilt.map((s) => s.sector)).toEqual(['other']);
    close(r.sectorTilt[0].unconstrained, ref.unconstrained.reduce((a, b) => a + b, 0) / ref.unconstrained.length);
  });

  it('without a policy: every id tradable, S = M, no cost, and the figures of an independent computation', async () => {
    const r = await report(2);
    expect(r).toMatchObject({ era: 2, universeSize: 48, tradable: 48, excluded: { count: 0, share: 0 }, observed: { count: 0, share: 0 }, byRule: [], policy: null });
    close(r.policyCost, 1);
    expect(r.run).toMatchObject({ seq: 1, trigger: 'close' });

    const m = independentM(2, models.map((model) => ({ ...model, stake: Number(STAKES[models.indexOf(model)]) })));
    const sectors = foldedSectors(rowsByEra.get(2)!);
    const expected = plainSectorMeans(m, sectors);
    expect(r.sectorTilt.map((s) => s.sector)).toEqual(['10', '15', '20', '25', '30', 'other']);
    expect(r.sectorTilt.map((s) => s.ids)).toEqual([10, 10, 8, 8, 6, 6]);
    for (const s of r.sectorTilt) {
      close(s.unconstrained, expected.get(s.sector)!);
      close(s.traded, expected.get(s.sector)!);
    }
    // The large stakes lean towards sector 10: the meta-model does too.
    expect(r.sectorTilt[0].unconstrained!).toBeGreaterThan(0);

    const plain = plainConcentration(STAKES.map(Number));
    expect(r.stake).toMatchObject({ models: 12, total: '10758.75', nakamoto50: plain.nakamoto50 });
    close(r.stake.gini, plain.gini);
    close(r.stake.effectiveModels, plain.effectiveModels);
    close(r.stake.top10Share, plain.top10Share);
  });

  it('splits each sector tilt exactly into stake deciles folded to at least 5 models, each group the stake-weighted mean of its models', async () => {
    const r = await report(2);
    // Twelve distinct stakes, largest first: rank r falls in decile ⌊10r/12⌋ + 1, so deciles hold 2,1,1,1,1,2,1,1,1,1 models;
    // folded from the top until a group holds 5: deciles 1–4 (5 models), then 5–10 (7, the 2 left over joining it).
    expect(r.stakeDeciles!.map((d) => [d.decile, d.lastDecile, d.models])).toEqual([
      [1, 4, 5],
      [5, 10, 7],
    ]);
    const stakes = STAKES.map(Number);
    const total = stakes.reduce((a, b) => a + b, 0);
    const sectors = foldedSectors(rowsByEra.get(2)!);
    const ranked = models.map((model, k) => ({ ...model, stake: stakes[k] }));
    const groups = [ranked.slice(0, 5), ranked.slice(5)];
    groups.forEach((members, g) => close(r.stakeDeciles![g].stakeShare, members.reduce((a, m) => a + m.stake, 0) / total));
    const groupMeans = groups.map((members) => plainSectorMeans(independentM(2, members), sectors));
    for (const s of r.sectorTilt) {
      expect(s.byStakeDecile).toHaveLength(2);
      groups.forEach((members, g) => {
        const share = members.reduce((a, m) => a + m.stake, 0) / total;
        close(s.byStakeDecile![g], share * groupMeans[g].get(s.sector)!);
      });
      close(s.byStakeDecile!.reduce((a, b) => a + b, 0), s.unconstrained!, 1e-12);
    }
  });

  it('withholds stake deciles when fewer than 5 models are staked: a decile would be one model', async () => {
    const r = await report(1);
    expect(r.stake.models).toBe(4);
    expect(r.stakeDeciles).toBeNull();
    for (const s of r.sectorTilt) expect(s.byStakeDecile).toBeNull();
  });

  it("gives the meta-model's CORR on every target, as numerai-tools and the scores route compute it", async () => {
    const r = await report(2);
    const ids = rowsByEra.get(2)!.map((row) => row.id);
    const { value } = await storedRun(2);
    const served: Series = new Map(ids.map((id, i) => [id, value[i]]));
    expect(r.metaModelCorr.map((c) => [c.target, c.main])).toEqual([
      ['cyrus_60', false],
      ['target', true],
    ]);
    for (const c of r.metaModelCorr) {
      const target: Series = new Map(ids.map((id, i) => [id, targetsByEra.get(2)!.get(c.target)![i]]));
      close(c.corr, numeraiCorr(served, target)!);
      const scores = await t.app.inject({ method: 'GET', url: `/v1/eras/2/scores?target=${c.target}`, headers: bearer(operatorKey) });
      close(c.corr, (scores.json<{ metaModelCorr: number }>()).metaModelCorr, 1e-15);
    }
  });

  it('with the policy: counts and shares by rule, tilts of M and S, and the cost as Spearman of S with M', async () => {
    const r = await report(3);
    const rows = rowsByEra.get(3)!;
    const tobacco = rows.filter((row) => row.tags.includes('tobacco')).length;
    const defense = rows.filter((row) => row.tags.includes('defense')).length;
    expect(tobacco).toBe(5);
    expect(defense).toBe(4);
    expect(r).toMatchObject({
      universeSize: 48,
      tradable: 48 - tobacco,
      excluded: { count: tobacco, share: tobacco / 48 },
      policy: { name: 'report-ethics', version: 1, mode: 'enforce', wouldBe: null },
    });
    const none = { scaled: 0, scaledShare: 0 };
    expect(r.byRule).toEqual([
      { ruleId: 'tobacco', description: 'tobacco tag', action: 'exclude', matched: tobacco, excluded: tobacco, observed: 0, excludedShare: tobacco / 48, observedShare: 0, ...none },
      { ruleId: 'defense-watch', description: 'defense tag', action: 'observe', matched: defense, excluded: 0, observed: defense, excludedShare: 0, observedShare: defense / 48, ...none },
      // Neutralization is a part of the policy too: it shifts every tradable id.
      {
        ruleId: 'neutralize:sector',
        description: 'neutralize by sector, proportion 0.5',
        action: 'neutralize',
        matched: 48 - tobacco,
        excluded: 0,
        observed: 0,
        scaled: 48 - tobacco,
        excludedShare: 0,
        observedShare: 0,
        scaledShare: (48 - tobacco) / 48,
      },
    ]);
    expect(r.observed).toEqual({ count: defense, share: defense / 48 });

    const m = independentM(3, models);
    const { signal } = await storedRun(3);
    const sectors = foldedSectors(rows);
    const before = plainSectorMeans(m, sectors);
    const after = plainSectorMeans(signal.map((v) => (Number.isNaN(v) ? undefined : v)), sectors);
    for (const s of r.sectorTilt) {
      close(s.unconstrained, before.get(s.sector)!);
      close(s.traded, after.get(s.sector)!);
      close(s.byStakeDecile!.reduce((a, b) => a + b, 0), s.unconstrained!, 1e-12);
    }
    const tradable = signal.map((v, i) => [v, i] as const).filter(([v]) => !Number.isNaN(v));
    const cost = plainSpearman(tradable.map(([v]) => v), tradable.map(([, i]) => m[i]));
    close(r.policyCost, cost);
    expect(r.policyCost!).toBeLessThan(1);

    const plain = plainConcentration(models.map((model) => model.stake));
    expect(r.stake).toMatchObject({ models: 12, total: '8758.75', nakamoto50: plain.nakamoto50 });
    close(r.stake.gini, plain.gini);
  });

  it('follows the latest run after a recompute', async () => {
    const before = await report(2);
    const res = await t.app.inject({ method: 'POST', url: '/v1/eras/2/meta-model/compute', headers: bearer(operatorKey) });
    expect(res.statusCode, res.body).toBe(200);
    secrets.push((res.json<{ id: string }>()).id);
    const after = await report(2);
    expect(after.run).toMatchObject({ seq: 2, trigger: 'recompute' });
    expect(after.sectorTilt).toEqual(before.sectorTilt);
    expect(after.stake).toEqual(before.stake);
  });
});

describe('GET /v1/reports/summary', () => {
  it('is one point per closed era with the era reports’ headline figures and how they moved', async () => {
    const s = await summary();
    expect(s.eras.map((p) => p.era)).toEqual([3, 2, 1]);
    expect(s.targets).toEqual(['cyrus_60', 'target']);
    for (const point of s.eras) {
      const r = await report(point.era);
      expect(point).toMatchObject({
        closedAt: r.closedAt,
        universeSize: r.universeSize,
        tradable: r.tradable,
        excludedShare: r.excluded.share,
        observedShare: r.observed.share,
        policyCost: r.policyCost,
        stake: r.stake,
        metaModelCorr: Object.fromEntries(r.metaModelCorr.map((c) => [c.target, c.corr])),
      });
    }
    const [third, second, first] = s.eras;
    expect(first.change).toBeNull();
    expect(first.policy).toBeNull();
    expect(third.policy).toEqual({ name: 'report-ethics', version: 1, mode: 'enforce' });
    expect(second.change).toMatchObject({ universeSize: 36, models: 8, totalStake: '10573.25' });
    expect(third.change).toMatchObject({
      universeSize: 0,
      tradable: -5,
      excludedShare: 5 / 48,
      models: 0,
      totalStake: '-2000',
      nakamoto50: third.stake.nakamoto50 - second.stake.nakamoto50,
    });
    const change = third.change as { gini: number; effectiveModels: number; policyCost: number; metaModelCorr: Record<string, number> };
    close(change.gini, third.stake.gini - second.stake.gini, 1e-15);
    close(change.effectiveModels, third.stake.effectiveModels - second.stake.effectiveModels, 1e-15);
    close(change.policyCost, third.policyCost! - second.policyCost!, 1e-15);
    // Only the targets both eras have.
    expect(Object.keys(change.metaModelCorr)).toEqual(['target']);
    close(change.metaModelCorr.target, third.metaModelCorr.target! - second.metaModelCorr.target!, 1e-15);
  });
});

describe('GET /v1/reports/summary, a page at a time', () => {
  it('pages newest first: every era once across the pages, the last page ends with next null, each figure as on one page', async () => {
    const whole = await summary();
    expect(whole.eras.map((p) => p.era)).toEqual([3, 2, 1]);
    for (const limit of [1, 2]) {
      const paged = await summary(limit);
      // The change of a page's oldest era is computed from the era before it, on the next page.
      expect(paged).toEqual(whole);
    }
    const first = await summaryPage('?limit=2');
    expect(first.eras.map((p) => p.era)).toEqual([3, 2]);
    expect(first.targets).toEqual(['cyrus_60', 'target']);
    expect(first.next).not.toBeNull();
    const last = await summaryPage(`?limit=2&cursor=${first.next}`);
    expect(last.eras.map((p) => p.era)).toEqual([1]);
    expect(last.next).toBeNull();
    expect(last.cumulativeCost).toEqual(whole.cumulativeCost);
    expect(last.cumulativeCost.length).toBeGreaterThan(0);
  });

  it('refuses a bad limit or cursor with a 400 naming the fix', async () => {
    for (const [query, fix] of [
      ['?limit=0', 'limit must be a whole number of eras from 1 to 100'],
      ['?limit=101', 'limit must be at most 100'],
      ['?limit=ten', 'limit must be a whole number of eras from 1 to 100'],
      ['?cursor=3', "pass the previous page's `next` unchanged"],
      [`?cursor=${Buffer.from('before:x').toString('base64url')}`, "pass the previous page's `next` unchanged"],
      ['?fromEra=1', 'fromEra'],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/reports/summary${query}` });
      expectProblem(res, 400);
      expect(res.body, query).toContain(fix);
    }
  });
});

describe('policySpearman, the name of the figure once served as policyCost', () => {
  it('is served beside the deprecated policyCost, equal to it, in the era report, the summary and its changes; OpenAPI marks policyCost deprecated', async () => {
    const s = await summary();
    expect(s.eras.length).toBeGreaterThan(1);
    for (const point of s.eras as unknown as Record<string, unknown>[]) {
      expect(Object.hasOwn(point, 'policySpearman')).toBe(true);
      expect(point.policySpearman).toBe(point.policyCost);
      const r = (await report(point.era as number)) as unknown as Record<string, unknown>;
      expect(Object.hasOwn(r, 'policySpearman')).toBe(true);
      expect(r.policySpearman).toBe(r.policyCost);
      expect(r.policySpearman).toBe(point.policySpearman);
      const change = point.change as Record<string, unknown> | null;
      if (change !== null) expect(change.policySpearman).toBe(change.policyCost);
    }
    expect(s.eras.some((p) => typeof (p as unknown as { policySpearman: unknown }).policySpearman === 'number')).toBe(true);

    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: Schema }> }> } }>;
      components: { schemas: Record<string, Schema> };
    }>();
    interface Schema {
      properties?: Record<string, Schema & { deprecated?: boolean; description?: string }>;
      items?: Schema;
      $ref?: string;
    }
    const resolved = (schema: Schema) => (schema.$ref ? spec.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema);
    const body = (route: string) => resolved(spec.paths[route].get.responses['200'].content['application/json'].schema);
    const summaryPoint = body('/v1/reports/summary').properties!.eras.items!;
    for (const props of [body('/v1/reports/eras/{number}').properties!, summaryPoint.properties!, summaryPoint.properties!.change.properties!]) {
      expect(props.policyCost.deprecated).toBe(true);
      expect(props.policyCost.description).toContain('policySpearman');
      expect(props.policySpearman.deprecated).toBeUndefined();
    }
  });
});

describe('eras closed before report figures were stored', () => {
  it('get them once, when a replica starts: the same reports and summary', async () => {
    const reports = await Promise.all([1, 2, 3].map((era) => report(era)));
    const before = await summary();
    // As a database migrated from an earlier version has it: runs without figures, no points, no costs.
    await t.database.pool.query('update meta_model_runs set report = null');
    await t.database.pool.query('delete from era_report_points');
    await t.database.pool.query('delete from policy_costs');
    await t.database.pool.query('delete from policy_cost_totals');
    // Meanwhile the era report's run figures are computed from the run; its costs and the summary's eras wait for the backfill.
    const { metaModelCorr, performanceCost, ...figures } = reports[1] as Report & { performanceCost: unknown };
    expect(metaModelCorr.length).toBe(2);
    expect(performanceCost).toHaveLength(2);
    expect(await report(2)).toEqual({ ...figures, metaModelCorr: [], performanceCost: [] });
    expect((await summary()).eras).toEqual([]);
    const replica = await startReplica(t, { scheduler: false });
    await replica.close();
    const { rows } = await t.database.pool.query('select count(*)::int as n from meta_model_runs where report is null and id in (select run_id from era_report_points)');
    expect(rows[0].n).toBe(0);
    for (const [k, era] of [1, 2, 3].entries()) expect(await report(era)).toEqual(reports[k]);
    const after = await summary();
    expect(after.eras).toEqual(before.eras);
    const totals = (s: Summary) => (s as unknown as { cumulativeCost: { target: string; eras: number; cost: number }[] }).cumulativeCost;
    expect(totals(after).map((c) => [c.target, c.eras])).toEqual(totals(before).map((c) => [c.target, c.eras]));
    totals(after).forEach((c, k) => close(c.cost, totals(before)[k].cost, 1e-15));
  });
});

describe('anonymity', () => {
  it('no id, model id, model name, account name or account id appears in any public report', async () => {
    const bodies = [
      ...(await Promise.all([1, 2, 3].map((era) => t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` })))).map((res) => res.body),
      (await t.app.inject({ method: 'GET', url: '/v1/reports/summary' })).body,
      (await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' })).body,
    ];
    // The new fields are there to be checked: exposures, the cost of the policy, the changelog's reasons.
    expect(bodies[1]).toContain('"exposures"');
    expect(bodies[1]).toContain('"performanceCost"');
    expect(bodies[3]).toContain('"cumulativeCost"');
    expect(bodies[4]).toContain('reports test');
    expect(secrets.length).toBeGreaterThan(48 * 3);
    for (const body of bodies) {
      for (const secret of secrets) expect(body.includes(secret), `"${secret}" appears in a public report`).toBe(false);
      expect(body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
    }
  });

  it('publishes no figure describing fewer than 5 models: every stake-decile group holds at least 5', async () => {
    for (const era of [1, 2, 3]) {
      const r = await report(era);
      if (r.stake.models < 5) expect(r.stakeDeciles).toBeNull();
      for (const group of r.stakeDeciles ?? []) expect(group.models).toBeGreaterThanOrEqual(5);
    }
  });
});

describe('a policy in shadow mode', () => {
  it('serves M unchanged (cost 1) and reports what enforcing would have excluded and cost', async () => {
    const admin = await createAccount(t.app, 'admin', 'rpt-shadow-checker');
    const created = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: { ...POLICY, name: 'report-shadow', mode: 'shadow' } });
    expect(created.statusCode, created.body).toBe(201);
    const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${(created.json<{ id: string }>()).id}/activate`, headers: bearer(admin.apiKey), payload: { reason: 'dry run' } });
    expect(activated.statusCode, activated.body).toBe(200);
    await leaningEra(5);

    const r = await report(5);
    expect(r).toMatchObject({
      tradable: 48,
      excluded: { count: 0, share: 0 },
      observed: { count: 0, share: 0 },
      policy: { name: 'report-shadow', version: 1, mode: 'shadow', wouldBe: { tradable: 43, excluded: 5, observed: 4 } },
    });
    close(r.policyCost, 1);
    const wouldCost = (r.policy!.wouldBe as { cost: number }).cost;
    expect(wouldCost).toBeLessThan(1);
    expect(r.byRule.map((rule) => [rule.ruleId, rule.excluded, rule.observed])).toEqual([
      ['tobacco', 5, 0],
      ['defense-watch', 0, 4],
      ['neutralize:sector', 0, 0],
    ]);
    for (const s of r.sectorTilt) close(s.traded, s.unconstrained!);
  });

  it('documents both routes in the OpenAPI description, as public', async () => {
    const docs = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, { get: { security?: unknown } }> }>();
    expect(docs.paths['/v1/reports/eras/{number}'].get.security).toBeUndefined();
    expect(docs.paths['/v1/reports/summary'].get.security).toBeUndefined();
    expect(docs.paths['/reports']).toBeUndefined();
  });
});
