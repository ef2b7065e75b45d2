import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { closedEraWithRun, PAB_POLICY, policyUniverse } from '../support/policies.js';

/* Withdrawing and rejecting drafts, and replaying a version over resolved eras (the console's approval queue). */

let t: TestApp;
let secondAdmin: string;
let operator: string;
let author: string;

const post = (url: string, key: string, payload?: object) => t.app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });
const withdraw = (id: string, key: string) => t.app.inject({ method: 'DELETE', url: `/v1/policies/${id}`, headers: bearer(key) });
const draft = async (name: string, key = ADMIN_KEY, document: object = { rules: [{ id: 'r', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } }] }) => {
  const res = await post('/v1/policies', key, { ...document, name });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; version: number }>();
};
const status = async (id: string) => (await t.app.inject({ method: 'GET', url: `/v1/policies/${id}`, headers: bearer(ADMIN_KEY) })).json();
const auditActions = async (id: string) => {
  const { rows } = await t.database.pool.query<{ action: string }>(`select action from audit_log where subject = $1 order by id`, [`policy:${id}`]);
  return rows.map((r) => r.action);
};

beforeAll(async () => {
  t = await createTestApp();
  secondAdmin = (await createAccount(t.app, 'admin')).apiKey;
  operator = (await createAccount(t.app, 'operator')).apiKey;
  author = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('withdrawing a draft', () => {
  it('lets its author delete it (204) and frees the version number; others get 403 and nothing changes', async () => {
    await draft('typo');
    const mistake = await draft('typo');
    expect(mistake.version).toBe(2);
    expectProblem(await withdraw(mistake.id, secondAdmin), 403);
    expectProblem(await withdraw(mistake.id, operator), 403);
    expect((await status(mistake.id)).status).toBe('draft');

    const res = await withdraw(mistake.id, ADMIN_KEY);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/policies/${mistake.id}`, headers: bearer(ADMIN_KEY) }), 404);
    expect(await auditActions(mistake.id)).toEqual(['policy.create', 'policy.withdraw']);
    // The number is free again: the corrected draft is version 2.
    expect((await draft('typo')).version).toBe(2);
    expectProblem(await withdraw(mistake.id, ADMIN_KEY), 404);
  });

  it('refuses (409) a version that is active, scheduled once, or rejected: it stays in the history', async () => {
    const active = await draft('kept');
    expect((await post(`/v1/policies/${active.id}/activate`, secondAdmin, { reason: 'in force' })).statusCode).toBe(200);
    expect(expectProblem(await withdraw(active.id, ADMIN_KEY), 409).detail).toMatch(/active/);

    const rejected = await draft('kept');
    expect((await post(`/v1/policies/${rejected.id}/reject`, secondAdmin, { reason: 'no' })).statusCode).toBe(200);
    expect(expectProblem(await withdraw(rejected.id, ADMIN_KEY), 409).detail).toMatch(/rejected/);

    // Scheduled, then replaced by a later activation: a draft again, but part of the history.
    const scheduled = await draft('kept');
    const era = (await post('/v1/eras', ADMIN_KEY, { number: 50, closesAt: new Date(Date.now() + 3_600_000).toISOString() })).json().number as number;
    expect((await post(`/v1/policies/${scheduled.id}/activate`, secondAdmin, { reason: 'later', fromEra: era })).statusCode).toBe(200);
    expect((await post(`/v1/policies/${active.id}/activate`, secondAdmin, { reason: 'cancel the schedule', fromEra: era })).statusCode).toBe(200);
    expect((await status(scheduled.id)).status).toBe('draft');
    expect(expectProblem(await withdraw(scheduled.id, ADMIN_KEY), 409).detail).toMatch(/scheduled once/);
    expect((await status(scheduled.id)).status).toBe('draft');
  });
});

describe('rejecting a draft', () => {
  it('needs an admin other than the author and a reason; the version shows rejected and cannot be activated', async () => {
    const candidate = await draft('reviewed');
    expectProblem(await post(`/v1/policies/${candidate.id}/reject`, ADMIN_KEY, { reason: 'mine' }), 403);
    expectProblem(await post(`/v1/policies/${candidate.id}/reject`, operator, { reason: 'not mine' }), 403);
    expectProblem(await post(`/v1/policies/${candidate.id}/reject`, secondAdmin, { reason: '  ' }), 400);
    expectProblem(await post(`/v1/policies/${candidate.id}/reject`, secondAdmin), 400);
    expect((await status(candidate.id)).status).toBe('draft');

    const res = await post(`/v1/policies/${candidate.id}/reject`, secondAdmin, { reason: 'the coal threshold is a typo' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: candidate.id, status: 'rejected' });

    const shown = await status(candidate.id);
    expect(shown).toMatchObject({ status: 'rejected', rejection: { reason: 'the coal threshold is a typo' } });
    const listed = (await t.app.inject({ method: 'GET', url: '/v1/policies?name=reviewed', headers: bearer(ADMIN_KEY) })).json().policies;
    expect(listed).toMatchObject([{ id: candidate.id, status: 'rejected' }]);

    expect(expectProblem(await post(`/v1/policies/${candidate.id}/activate`, secondAdmin, { reason: 'anyway' }), 409).detail).toMatch(/rejected/);
    expectProblem(await post(`/v1/policies/${candidate.id}/reject`, secondAdmin, { reason: 'twice' }), 409);
    expect(await auditActions(candidate.id)).toEqual(['policy.create', 'policy.reject']);
    expect((await status(candidate.id)).status).toBe('rejected');
  });

  it('refuses (409) a version that is not a draft', async () => {
    const active = await draft('in-force');
    expect((await post(`/v1/policies/${active.id}/activate`, secondAdmin, { reason: 'in force' })).statusCode).toBe(200);
    expect(expectProblem(await post(`/v1/policies/${active.id}/reject`, secondAdmin, { reason: 'too late' }), 409).detail).toMatch(/is active; only a draft/);
  });
});

describe('replaying a version over resolved eras', () => {
  it("gives each era's unconstrained CORR as its report does, the cost as unconstrained − traded, and a summary", async () => {
    const rows = policyUniverse(80, 'rp');
    for (const era of [101, 102, 103]) {
      await closedEraWithRun(t.app, era, rows.map((r) => ({ ...r, id: `${r.id}_${era}` })), author);
      const target = `id,target\n${rows.map((r, i) => `${r.id}_${era},${[0, 0.25, 0.5, 0.75, 1][(i * 7 + era) % 5]}`).join('\n')}\n`;
      const put = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/target`, headers: { ...bearer(operator), 'content-type': 'text/csv' }, payload: target });
      expect(put.statusCode, put.body).toBe(200);
      if (era !== 103) expect((await post(`/v1/eras/${era}/resolve`, operator)).statusCode).toBe(200);
    }
    const pab = await draft('pab-replay', secondAdmin, { ...PAB_POLICY, name: undefined });

    const res = await post(`/v1/policies/${pab.id}/replay`, operator, { lastEras: 5 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      eras: { era: number; target: string; unconstrained: number; traded: number; cost: number; spearman: number; excluded: number }[];
      summary: { eras: number; meanCost: number; stdCost: number; cumulativeCost: number; worstEra: number };
    }>();
    // Era 103 is not resolved: only 101 and 102, oldest first.
    expect(body.eras.map((e) => e.era)).toEqual([101, 102]);
    for (const era of body.eras) {
      const report = (await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era.era}` })).json();
      const main = report.performanceCost.find((c: { main: boolean }) => c.main);
      expect(era.target).toBe('target');
      expect(era.unconstrained).toBe(main.unconstrained);
      expect(era.cost).toBe(era.unconstrained - era.traded);
      expect(era.excluded).toBeGreaterThan(0);
      expect(era.spearman).toBeGreaterThan(0);
      expect(era.spearman).toBeLessThan(1);
    }
    const costs = body.eras.map((e) => e.cost);
    const mean = (costs[0] + costs[1]) / 2;
    expect(body.summary.eras).toBe(2);
    expect(body.summary.meanCost).toBeCloseTo(mean, 15);
    expect(body.summary.stdCost).toBeCloseTo(Math.abs(costs[0] - costs[1]) / 2, 15);
    expect(body.summary.cumulativeCost).toBeCloseTo(costs[0] + costs[1], 15);
    expect(body.summary.worstEra).toBe(costs[0] >= costs[1] ? 101 : 102);

    expect((await post(`/v1/policies/${pab.id}/replay`, operator, { lastEras: 1 })).json().eras.map((e: { era: number }) => e.era)).toEqual([102]);
  });

  it('takes 1–260 eras, an admin or operator, and an existing version', async () => {
    const some = await draft('replay-input');
    for (const lastEras of [0, 261, 1.5, '3']) expectProblem(await post(`/v1/policies/${some.id}/replay`, operator, { lastEras }), 400);
    expectProblem(await post(`/v1/policies/${some.id}/replay`, operator, {}), 400);
    expectProblem(await post(`/v1/policies/${some.id}/replay`, author, { lastEras: 3 }), 403);
    expectProblem(await post('/v1/policies/00000000-0000-4000-8000-000000000000/replay', operator, { lastEras: 3 }), 404);
    expect((await post(`/v1/policies/${some.id}/replay`, ADMIN_KEY, { lastEras: 260 })).statusCode).toBe(200);
  });
});
