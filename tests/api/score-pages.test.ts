import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createModel, liveIds, rng } from '../support/fixtures.js';
import type { Series } from '../support/numerai-tools.js';
import { standings, type EraResult } from '../support/performance.js';
import { tournament, type ServedScore } from '../support/tournament.js';

/*
 * Paged reads (DESIGN 9.4) and running totals across churning models, over HTTP on a real
 * database: a model's scores by era, newest first; an era's scores by model; the leaderboard
 * after eras in which models come and go.
 */

const BINS = [0, 0.25, 0.5, 0.75, 1];
const ERAS = [1, 2, 3, 4, 5, 6];
const MODELS = ['always', 'gone_early', 'back_late', 'every_other', 'newcomer'] as const;
/** Who submits on time in which era: a model absent for some eras keeps its totals. */
const TAKES_PART: Record<(typeof MODELS)[number], (era: number) => boolean> = {
  always: () => true,
  gone_early: (era) => era <= 2,
  back_late: (era) => era === 1 || era >= 5,
  every_other: (era) => era % 2 === 1,
  newcomer: (era) => era >= 4,
};

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  const drive = tournament(t.app, { operator: operatorKey, author: authorKey });
  const random = rng(2027);
  for (const name of MODELS) ids[name] = (await createModel(t.app, authorKey, name, '20')).id;
  for (const era of ERAS) {
    const universe = liveIds(30, `pg${era}_`);
    await drive.openEra(era, universe);
    const values = (): Series => new Map(universe.map((id) => [id, Math.round(random() * 100) / 100]));
    for (const name of MODELS) if (TAKES_PART[name](era)) await drive.submit(ids[name], era, values());
    await drive.close(era);
    if (era === 3) await drive.submit(ids.always, era, values(), true);
    const bins = (): Series => new Map(universe.map((id) => [id, BINS[Math.floor(random() * 5)]]));
    await drive.putTargets(era, { target: bins(), cyrus_60: bins() });
    await drive.resolve(era);
  }
}, 180_000);
afterAll(async () => t.close());

const get = (url: string) => t.app.inject({ method: 'GET', url, headers: bearer(operatorKey) });

describe("a model's scores, paged by era", () => {
  it('pages newest first with limit and cursor; the pages together are the whole list; the last page has next null', async () => {
    const whole = (await get(`/v1/models/${ids.always}/scores`)).json();
    expect(whole.next).toBeNull();
    expect([...new Set(whole.scores.map((s: { era: number }) => s.era))]).toEqual([6, 5, 4, 3, 2, 1]);
    const pages: { scores: unknown[]; next: string | null }[] = [];
    let url = `/v1/models/${ids.always}/scores?limit=4`;
    for (;;) {
      const res = await get(url);
      expect(res.statusCode, res.body).toBe(200);
      pages.push(res.json());
      const next = res.json().next as string | null;
      if (next === null || pages.length > 10) break;
      url = `/v1/models/${ids.always}/scores?limit=4&cursor=${encodeURIComponent(next)}`;
    }
    expect(pages).toHaveLength(2);
    expect(pages.map((p) => [...new Set((p.scores as { era: number }[]).map((s) => s.era))])).toEqual([[6, 5, 4, 3], [2, 1]]);
    expect(pages.flatMap((p) => p.scores)).toEqual(whole.scores);
  });

  it('as CSV the next page is in a Link header', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/models/${ids.always}/scores?limit=2`, headers: { ...bearer(operatorKey), accept: 'text/csv' } });
    expect(res.statusCode).toBe(200);
    const link = String(res.headers.link);
    expect(link).toMatch(/^<\/v1\/models\/[^>]+cursor=[^>]+>; rel="next"$/);
    const next = await t.app.inject({ method: 'GET', url: link.slice(1, link.indexOf('>')), headers: { ...bearer(operatorKey), accept: 'text/csv' } });
    expect(next.body.split('\n').slice(1, -1).map((line) => Number(line.split(',')[0]))).toEqual([4, 4, 3, 3, 3, 3]); // era 3 also has a late submission
  });

  it('a bad limit or cursor is 400 saying what to send', async () => {
    for (const limit of ['0', '101', 'x']) expectProblem(await get(`/v1/models/${ids.always}/scores?limit=${limit}`), 400);
    for (const cursor of ['nope!', 'eyJlcmEiOiJ4In0', Buffer.from('{"era":1,"x":2}').toString('base64url')]) {
      expect(expectProblem(await get(`/v1/models/${ids.always}/scores?cursor=${cursor}`), 400).detail).toMatch(/cursor .*`next` of the previous page/);
    }
  });
});

describe("an era's scores, paged by model", () => {
  it('pages on-time first then by name; the pages together are the whole list', async () => {
    const whole = (await get('/v1/eras/3/scores')).json();
    expect(whole.next).toBeNull();
    expect(whole.scores.map((s: ServedScore) => [s.model, s.late])).toEqual([['always', false], ['every_other', false], ['always', true]]);
    const seen: ServedScore[] = [];
    let url = '/v1/eras/3/scores?limit=1';
    let pages = 0;
    for (;;) {
      const page = (await get(url)).json();
      pages++;
      seen.push(...page.scores);
      if (page.next === null || pages > 10) break;
      url = `/v1/eras/3/scores?limit=1&cursor=${page.next}`;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(whole.scores);
    expectProblem(await get('/v1/eras/3/scores?limit=501'), 400);
    expectProblem(await get('/v1/eras/3/scores?cursor=AAAA'), 400);
  });
});

describe('running totals across churning models', () => {
  it('every window of the leaderboard equals the independent computation from the served per-era scores', async () => {
    const results: EraResult[] = [];
    for (const era of ERAS) {
      const served = (await get(`/v1/eras/${era}/scores`)).json().scores as ServedScore[];
      for (const row of served.filter((s) => !s.late)) results.push({ era, model: row.model, corr: row.corr, mmc: row.mmc, corrMultiplier: 0.5, mmcMultiplier: 2, stake: row.stake });
    }
    for (const window of [1, 2, 3, 4, 6, 260]) {
      const served = (await get(`/v1/leaderboard?window=${window}`)).json();
      const expected = standings(results, ERAS, window);
      expect(served.rows.map((r: { model: string; eras: number }) => [r.model, r.eras])).toEqual(expected.rows.map((r) => [r.model, r.eras]));
      served.rows.forEach((row: { score: number }, i: number) => expect(Math.abs(row.score - expected.rows[i].score)).toBeLessThan(1e-9));
    }
  });

  it('each era has one row per model that took part and none for an era it missed, its totals built on its latest earlier row', async () => {
    const { rows } = await t.database.pool.query<{ era: number; model: string; corr: number; scored_eras: number; corr_total: number }>(
      `select r.era_number as era, m.name as model, r.corr, r.scored_eras, r.corr_total from model_era_results r join models m on m.id = r.model_id
       where r.target = 'target' order by r.era_number, m.name`,
    );
    for (const era of ERAS) {
      const tookPart = MODELS.filter((name) => TAKES_PART[name](era));
      expect(rows.filter((r) => r.era === era).map((r) => r.model)).toEqual([...tookPart].sort());
    }
    for (const name of MODELS) {
      const own = rows.filter((r) => r.model === name);
      expect(own.map((r) => r.era)).toEqual(ERAS.filter((e) => TAKES_PART[name](e)));
      // Summed in era order, as resolution adds: equal to the last bit, across the eras the model missed.
      let total = 0;
      own.forEach((row, i) => {
        total += row.corr;
        expect(row.scored_eras).toBe(i + 1);
        expect(row.corr_total).toBe(total);
      });
    }
  });
});
