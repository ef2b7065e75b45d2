import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createTestApp, expectProblem, bearer, type TestApp } from '../support/app.js';
import { createModel, liveIds, rng } from '../support/fixtures.js';
import { correlationContribution, numeraiCorr, payout, unconstrainedMetaModel, type Series } from '../support/numerai-tools.js';
import { closeTo, standings, summary, type EraResult } from '../support/performance.js';
import { tournament, type ServedLeaderboard } from '../support/tournament.js';

/*
 * Performance (docs/scoring-and-payouts.md, performance over eras) and the reputation leaderboard (step 10) over eras
 * driven through the API, against figures the test computes itself: from its own
 * numerai-tools oracle on a small tournament with the awkward cases, and from the served
 * per-era scores on a random 30-era tournament with daily target updates.
 */

const BINS = [0, 0.25, 0.5, 0.75, 1];
const PARAMS = { corrMultiplier: 0.5, mmcMultiplier: 2, clip: 0.05, stakeThreshold: 72000 };

let t: TestApp;
let drive: ReturnType<typeof tournament>;
let authorKey: string;
let operatorKey: string;

/** Each tournament on a database of its own, so resolved eras of one do not enter the other's windows. */
function ownDatabase() {
  beforeAll(async () => {
    t = await createTestApp();
    operatorKey = (await createAccount(t.app, 'operator')).apiKey;
    authorKey = (await createAccount(t.app, 'author')).apiKey;
    drive = tournament(t.app, { operator: operatorKey, author: authorKey });
  });
  afterAll(async () => t.close());
}

function expectRows(served: ServedLeaderboard['rows'], expected: ReturnType<typeof standings>['rows']) {
  expect(served.map((r) => [r.rank, r.model, r.eras])).toEqual(expected.map((r) => [r.rank, r.model, r.eras]));
  served.forEach((row, i) => {
    if (expected[i].stake === null) expect(row.stake).toBeNull();
    else expect(Math.abs(Number(row.stake) - Number(expected[i].stake))).toBeLessThan(1e-9);
    for (const key of ['corrRep', 'mmcRep', 'score'] as const) expect(Math.abs(row[key] - expected[i][key])).toBeLessThan(1e-9);
  });
}

describe('a small tournament with the awkward cases, against the oracle', () => {
  ownDatabase();
  const IDS = liveIds(50, 'pf');
  const random = rng(909);
  const target: Series = new Map(IDS.map((id) => [id, BINS[Math.floor(random() * 5)]]));
  const draft: Series = new Map(IDS.map((id) => [id, BINS[Math.floor(random() * 5)]]));
  const steadyPredictions: Series = new Map(IDS.map((id) => [id, Math.round(random() * 1000) / 1000]));
  const fresh = (): Series => new Map(IDS.map((id) => [id, Math.round(random() * 1000) / 1000]));
  // era → multipliers; era 3 pays with its own.
  const ERAS: Record<number, { corrMultiplier: number; mmcMultiplier: number }> = {
    1: PARAMS,
    2: PARAMS,
    3: { corrMultiplier: 1, mmcMultiplier: 0.5 },
    4: PARAMS,
  };
  const names = ['tie_b', 'tie_a', 'steady', 'once', 'lateonly', 'mover'] as const;
  const stakes: Record<(typeof names)[number], number> = { tie_b: 50, tie_a: 50, steady: 120, once: 30, lateonly: 10, mover: 0 };
  const ids: Record<string, string> = {};
  const balance: Record<string, number> = { ...stakes };
  const results: EraResult[] = [];
  const onTimeSeries = new Map<string, { era: number; corr: number; mmc: number; stake: number; payout: number }[]>();

  beforeAll(async () => {
    for (const name of names) ids[name] = (await createModel(t.app, authorKey, name, String(stakes[name]))).id;
    for (const era of [1, 2, 3, 4, 5]) {
      const multipliers = ERAS[era] ?? PARAMS;
      await drive.openEra(era, IDS, { payout: { ...PARAMS, ...multipliers } });
      const tie = fresh();
      const onTime: Record<string, Series> = { tie_a: tie, tie_b: tie, steady: steadyPredictions, mover: fresh() };
      if (era === 2) onTime.once = fresh();
      for (const [name, p] of Object.entries(onTime)) await drive.submit(ids[name], era, p);
      await drive.close(era);
      // Late: one model only ever late, and a late second submission of a model that was on time.
      await drive.submit(ids.lateonly, era, fresh(), true);
      await drive.submit(ids.mover, era, fresh(), true);
      // Daily updates: a draft version first, then the final one.
      await drive.putTargets(era, { target: draft, cyrus_60: target });
      await drive.putTargets(era, { target, cyrus_60: draft });
      if (era === 5) continue; // closed and scored, never resolved: counted nowhere
      await drive.resolve(era);

      // At-risk stake = the stake now, which earlier payouts (to 10 decimals) have moved.
      const staked = Object.entries(onTime).filter(([name]) => balance[name] > 0);
      const meta = unconstrainedMetaModel(IDS, staked.map(([name, p]) => ({ predictions: p, stake: balance[name] })));
      const totalAtRisk = staked.reduce((s, [name]) => s + balance[name], 0);
      const paidNow: Record<string, number> = {};
      for (const [name, p] of Object.entries(onTime)) {
        const corr = numeraiCorr(p, target)!;
        const mmc = correlationContribution(p, meta, target);
        const stake = balance[name];
        const paid = stake > 0 ? Math.round(payout(stake, corr, mmc, { ...PARAMS, ...multipliers }, totalAtRisk) * 1e10) / 1e10 : 0;
        paidNow[name] = paid;
        onTimeSeries.set(name, [...(onTimeSeries.get(name) ?? []), { era, corr, mmc, stake, payout: paid }]);
        results.push({ era, model: name, corr, mmc, ...multipliers, stake: stake > 0 ? String(stake) : null });
      }
      for (const [name, paid] of Object.entries(paidNow)) balance[name] += paid;
    }
  }, 120_000);

  it("serves each model's per-era scores, summaries and payout figures", async () => {
    for (const name of names) {
      const served = await drive.performance(ids[name]);
      const expected = onTimeSeries.get(name) ?? [];
      expect(served).toMatchObject({ modelId: ids[name], model: name, target: 'target' });
      expect(served.eras.map((e) => e.era)).toEqual(expected.map((e) => e.era));
      served.eras.forEach((e, i) => {
        expect(Math.abs(e.corr! - expected[i].corr)).toBeLessThan(1e-9);
        expect(Math.abs(e.mmc! - expected[i].mmc)).toBeLessThan(1e-9);
        if (expected[i].stake > 0) expect(Math.abs(Number(e.stake) - expected[i].stake)).toBeLessThan(1e-9);
        else expect(e.stake).toBeNull();
        if (expected[i].stake > 0) expect(Math.abs(Number(e.payout) - expected[i].payout)).toBeLessThan(1e-9);
      });
      expect(closeTo(served.corr, summary(expected.map((e) => e.corr)), 1e-9)).toEqual([]);
      expect(closeTo(served.mmc, summary(expected.map((e) => e.mmc)), 1e-9)).toEqual([]);
      const paid = expected.filter((e) => e.stake > 0);
      const totalPaid = paid.reduce((s, e) => s + e.payout, 0);
      expect(Math.abs(Number(served.payout.total) - totalPaid)).toBeLessThan(1e-9);
      if (paid.length === 0) expect(served.payout.return).toBeNull();
      else expect(Math.abs(served.payout.return! - totalPaid / paid.reduce((s, e) => s + e.stake, 0))).toBeLessThan(1e-9);
    }
  });

  it('the awkward cases come out as the definitions say', async () => {
    const steady = await drive.performance(ids.steady);
    expect(new Set(steady.eras.map((e) => e.corr)).size).toBe(1);
    expect(steady.corr).toMatchObject({ std: 0, sharpe: null });
    const once = await drive.performance(ids.once);
    expect(once.eras.map((e) => e.era)).toEqual([2]);
    expect(once.corr).toMatchObject({ std: 0, sharpe: null, maxDrawdown: Math.max(0, -once.eras[0].corr!) });
    const lateOnly = await drive.performance(ids.lateonly);
    expect(lateOnly).toMatchObject({ eras: [], corr: { mean: null, std: null, sharpe: null, maxDrawdown: null }, payout: { total: '0', return: null } });
    // Another target: its own scores, the era's stake and payout (paid on the main target).
    const other = await drive.performance(ids.mover, 'cyrus_60');
    expect(other.target).toBe('cyrus_60');
    expect(other.eras.map((e) => e.era)).toEqual([1, 2, 3, 4]);
  });

  it('ranks by reputation over the window, ties by name; a window that cuts eras off; late submissions count in neither', async () => {
    const resolved = [1, 2, 3, 4];
    for (const window of [undefined, 1, 2, 3, 260]) {
      const served = await drive.leaderboard(window === undefined ? '' : `?window=${window}`);
      const expected = standings(results, resolved, window ?? 20);
      expect(served).toMatchObject({ target: 'target', window: window ?? 20, eras: expected.eras, total: expected.rows.length });
      expectRows(served.rows, expected.rows);
      expect(served.rows.map((r) => r.model)).not.toContain('lateonly');
    }
    const all = await drive.leaderboard('');
    const [a, b] = [all.rows.find((r) => r.model === 'tie_a')!, all.rows.find((r) => r.model === 'tie_b')!];
    expect(a.score).toBe(b.score);
    expect(b.rank).toBe(a.rank + 1);
    expect((await drive.leaderboard('?window=2')).rows.map((r) => r.model)).not.toContain('once');
  });

  it('pages through the ranking, and refuses a window outside 1–260 with a clear 400', async () => {
    const all = await drive.leaderboard('?window=3');
    const page = await drive.leaderboard('?window=3&limit=2&offset=1');
    expect(page.total).toBe(all.total);
    expect(page.rows).toEqual(all.rows.slice(1, 3));
    expect((await drive.leaderboard('?window=3&offset=50')).total).toBe(all.total);
    for (const bad of ['0', '261', '2.5', 'abc', '-1', '']) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/leaderboard?window=${bad}`, headers: bearer(authorKey) });
      expect(expectProblem(res, 400).detail).toBe('window must be a whole number of resolved eras from 1 to 260 (default 20)');
    }
  });

  it("performance is the owner's and staff's; the leaderboard any key's", async () => {
    const other = (await createAccount(t.app, 'author')).apiKey;
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/models/${ids.steady}/performance`, headers: bearer(other) }), 403);
    expect((await t.app.inject({ method: 'GET', url: `/v1/models/${ids.steady}/performance`, headers: bearer(authorKey) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/v1/leaderboard', headers: bearer(other) })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/leaderboard' }), 401);
  });
});

describe('a random tournament of 30 eras with daily target updates', () => {
  ownDatabase();
  const FIRST = 101;
  const ERAS = 30;
  const random = rng(30_2026);
  const MODELS = Array.from({ length: 9 }, (_, k) => `random_${k}`);
  const modelIds: Record<string, string> = {};
  const multipliers = new Map<number, { corrMultiplier: number; mmcMultiplier: number }>();

  beforeAll(async () => {
    for (const [k, name] of MODELS.entries()) modelIds[name] = (await createModel(t.app, authorKey, name, String(10 * (k + 1)))).id;
    for (let era = FIRST; era < FIRST + ERAS; era++) {
      const ids = liveIds(40, `r${era}_`);
      const m = { corrMultiplier: [0.5, 1, 0.25][era % 3], mmcMultiplier: [2, 1, 3][era % 4 % 3] };
      multipliers.set(era, m);
      await drive.openEra(era, ids, { payout: { ...PARAMS, ...m } });
      const values = (): Series => new Map(ids.map((id) => [id, Math.round(random() * 100) / 100]));
      for (const name of MODELS) if (random() < 0.8) await drive.submit(modelIds[name], era, values());
      await drive.close(era);
      for (const name of MODELS) if (random() < 0.15) await drive.submit(modelIds[name], era, values(), true);
      const bins = (): Series => new Map(ids.map((id) => [id, BINS[Math.floor(random() * 5)]]));
      for (let day = 0; day < 3; day++) await drive.putTargets(era, { target: bins(), cyrus_60: bins() });
      // A few eras stay unresolved, one of them in the middle.
      if (era !== FIRST + 12 && era < FIRST + ERAS - 1) await drive.resolve(era);
    }
  }, 240_000);

  it("every model's performance and the leaderboard equal an independent computation from the served per-era scores", async () => {
    const resolved = Array.from({ length: ERAS }, (_, k) => FIRST + k).filter((e) => e !== FIRST + 12 && e < FIRST + ERAS - 1);
    for (const target of ['target', 'cyrus_60']) {
      const results: EraResult[] = [];
      const payouts = new Map<string, { era: number; stake: string | null; payout: string | null }>();
      for (const era of resolved) {
        const served = await drive.eraScores(era, target);
        const main = await drive.eraScores(era, 'target');
        for (const row of served.scores.filter((s) => !s.late)) {
          const paid = main.scores.find((s) => s.submissionId === row.submissionId)!;
          results.push({ era, model: row.model, corr: row.corr, mmc: row.mmc, ...multipliers.get(era)!, stake: paid.stake });
          payouts.set(`${row.model}:${era}`, { era, stake: paid.stake, payout: paid.payout });
        }
      }
      for (const name of MODELS) {
        const served = await drive.performance(modelIds[name], target);
        const own = results.filter((r) => r.model === name);
        expect(served.eras.map((e) => e.era)).toEqual(own.map((r) => r.era));
        expect(served.eras.map((e) => [e.corr, e.mmc, e.stake, e.payout])).toEqual(
          own.map((r) => [r.corr, r.mmc, payouts.get(`${name}:${r.era}`)!.stake, payouts.get(`${name}:${r.era}`)!.payout]),
        );
        expect(closeTo(served.corr, summary(own.filter((r) => r.corr !== null).map((r) => r.corr!)), 1e-9)).toEqual([]);
        expect(closeTo(served.mmc, summary(own.filter((r) => r.mmc !== null).map((r) => r.mmc!)), 1e-9)).toEqual([]);
        const paid = own.map((r) => payouts.get(`${name}:${r.era}`)!).filter((p) => p.payout !== null);
        const total = paid.reduce((s, p) => s + Number(p.payout), 0);
        expect(Math.abs(Number(served.payout.total) - total)).toBeLessThan(1e-9);
      }
      for (const window of [1, 5, 20, 26, 260]) {
        const served = await drive.leaderboard(`?target=${target}&window=${window}`);
        const expected = standings(results, resolved, window);
        expect(served.eras).toEqual(expected.eras);
        expectRows(served.rows, expected.rows);
      }
    }
  });

  it('a resolution, in order or out of it, is in the next leaderboard served, on every page', async () => {
    const served = async (resolved: number[]) => {
      const results: EraResult[] = [];
      for (const era of resolved) {
        for (const row of (await drive.eraScores(era, 'target')).scores.filter((s) => !s.late)) {
          results.push({ era, model: row.model, corr: row.corr, mmc: row.mmc, ...multipliers.get(era)!, stake: row.stake });
        }
      }
      for (const window of [5, 20]) {
        const expected = standings(results, resolved, window);
        const all = await drive.leaderboard(`?window=${window}`);
        expect(all.eras).toEqual(expected.eras);
        expect(all.total).toBe(expected.rows.length);
        expectRows(all.rows, expected.rows);
        expectRows((await drive.leaderboard(`?window=${window}&limit=3&offset=2`)).rows, expected.rows.slice(2, 5));
      }
    };
    const resolved = Array.from({ length: ERAS }, (_, k) => FIRST + k).filter((e) => e !== FIRST + 12 && e < FIRST + ERAS - 1);
    await served(resolved);
    // The era left unresolved in the middle: every later era's running totals change.
    await drive.resolve(FIRST + 12);
    resolved.push(FIRST + 12);
    await served(resolved.sort((a, b) => a - b));
    await drive.resolve(FIRST + ERAS - 1);
    resolved.push(FIRST + ERAS - 1);
    await served(resolved);
  });
});
