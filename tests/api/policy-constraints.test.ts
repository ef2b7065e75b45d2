import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createModel, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra, metaModel } from '../support/metamodel.js';
import { putUniverseRows, type UniverseJsonRow } from '../support/policies.js';

/*
 * A cap on sector tilt and a long-side exclusion, on an era whose meta-model leans into one sector
 * and whose long-excluded ids are that sector's favourites: capping first and cutting longs after
 * would publish a tilt far past the cap. The constraints hold together on what is published.
 */

const CAP = 0.1;
const TOLERANCE = 1e-9;
const SECTORS = ['10', '15', '20'];
const N = 60;
const HOUR = 3_600_000;

const CAPPED = {
  name: 'capped-coal',
  rules: [{ id: 'coal-1pct', match: { field: 'attributes.thermal_coal_revenue_share', op: 'gte', value: 0.01 }, action: { type: 'exclude', side: 'long' } }],
  groupCap: { by: 'sector', maxAbsMean: CAP },
};

// Every id long-excluded and every sector neutral: S = 0 everywhere, nothing left to order.
const NOTHING_TO_ORDER = {
  name: 'no-longs-neutral',
  rules: [{ id: 'no-longs', match: { field: 'id', op: 'exists' }, action: { type: 'exclude', side: 'long' } }],
  neutralize: { by: 'sector', proportion: 1 },
};

/** Sector 10 holds the favourites; the top half of sector 10 burns coal. */
function rows(era: number): UniverseJsonRow[] {
  return Array.from({ length: N }, (_, i) => {
    const sector = SECTORS[i % 3];
    const coal = sector === '10' && i >= N / 2 ? 0.05 : 0;
    return { id: `pc${era}i${String(i).padStart(3, '0')}`, sector, industry: null, country: 'US', tags: [], attributes: { thermal_coal_revenue_share: coal } };
  });
}

/** Sector 10 ranks above the rest, ordered by position; models differ by a little noise. */
function predictions(universe: UniverseJsonRow[], seed: number): number[] {
  const random = rng(seed);
  return universe.map((row, i) => {
    const base = (row.sector === '10' ? 0.6 : 0.1) + (0.35 * i) / N;
    return Math.round(Math.min(1, Math.max(0, base + (random() - 0.5) * 0.02)) * 1e6) / 1e6;
  });
}

async function createPolicy(t: TestApp, document: object): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: document });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

describe('a policy whose constraints must hold on what it publishes', () => {
  let t: TestApp;
  let checker: string;
  const era = 7;
  let universe: UniverseJsonRow[];

  beforeAll(async () => {
    t = await createTestApp();
    checker = (await createAccount(t.app, 'admin', 'checker')).apiKey;
    const author = (await createAccount(t.app, 'author')).apiKey;
    const policy = await createPolicy(t, CAPPED);
    const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${policy}/activate`, headers: bearer(checker), payload: { reason: 'cap and coal' } });
    expect(activated.statusCode, activated.body).toBe(200);

    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/eras',
      headers: bearer(ADMIN_KEY),
      payload: { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() },
    });
    expect(created.statusCode, created.body).toBe(201);
    universe = rows(era);
    await putUniverseRows(t.app, era, universe);
    for (const [k, stake] of ['100', '40', '7.5'].entries()) {
      const model = await createModel(t.app, author, `pc_m${k}`, stake);
      const res = await submitCsv(t.app, author, model.id, era, predictionsCsv(universe.map((r) => r.id), predictions(universe, 100 + k)));
      expect(res.statusCode, res.body).toBe(201);
    }
    await closeEra(t.app, era);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('publishes every sector tilt within the cap and no long-excluded id above the median rank', async () => {
    const report = await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` });
    expect(report.statusCode, report.body).toBe(200);
    const tilt = report.json().sectorTilt as { sector: string; unconstrained: number; traded: number }[];
    expect(tilt.map((s) => s.sector)).toEqual(SECTORS);
    // the meta-model leans hard into sector 10: the cap binds
    expect(tilt[0].unconstrained).toBeGreaterThan(0.5);
    for (const s of tilt) expect(Math.abs(s.traded), `sector ${s.sector}: ${s.traded}`).toBeLessThanOrEqual(CAP + TOLERANCE);

    const served = await metaModel(t.app, era);
    const coal = new Set(universe.filter((r) => r.attributes.thermal_coal_revenue_share === 0.05).map((r) => r.id));
    const excluded = served.rows.filter((r) => coal.has(r.id));
    expect(excluded).toHaveLength(10);
    for (const row of excluded) {
      expect(row.excludedBy).toEqual(['coal-1pct']);
      // the middle of the rank scale, where S = 0 sits (capping then cutting longs put them at 0.567)
      expect(row.value!, row.id).toBeLessThanOrEqual(0.5);
    }
  });

  it('previews and refuses a version whose constraints leave nothing to order (409 naming them)', async () => {
    const id = await createPolicy(t, NOTHING_TO_ORDER);
    const preview = await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/preview`, headers: bearer(ADMIN_KEY), payload: { eras: [era] } });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().eras[0].conflict).toMatchObject({ parts: ['no-longs', 'neutralize'] });
    expect(preview.json().warnings).toContainEqual({
      path: 'rules[0], neutralize',
      message: expect.stringMatching(/^era 7: no-longs \(exclude long\), neutralize \(by sector, proportion 1\) leave fewer than 2 distinct tradable values.*cannot be activated$/),
    });

    const before = (await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json();
    const refused = expectProblem(await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker), payload: { reason: 'try' } }), 409);
    expect(refused.detail).toMatch(/no-longs-neutral v1 cannot be activated: on era 7, no-longs \(exclude long\), neutralize \(by sector, proportion 1\) leave fewer than 2 distinct/);
    // scheduled for a later era, the same refusal; its own author is refused by four-eyes first
    const scheduled = expectProblem(
      await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker), payload: { reason: 'later', fromEra: era + 5 } }),
      409,
    );
    expect(scheduled.detail).toMatch(/cannot be activated: on era 7/);
    expectProblem(await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(ADMIN_KEY), payload: { reason: 'mine' } }), 403);
    // nothing changed
    expect((await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json()).toEqual(before);
    const got = await t.app.inject({ method: 'GET', url: `/v1/policies/${id}`, headers: bearer(ADMIN_KEY) });
    expect(got.json().status).toBe('draft');
  });
});
