import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, putUniverse, submitCsv } from '../support/fixtures.js';
import { reference } from '../support/reference.js';

const ref = reference.era;
const REF_MODELS = ['alpha', 'beta', 'gamma', 'delta'] as const;

interface StakeEvent {
  kind: string;
  delta: string;
  balance: string;
  era: number | null;
}

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const ids: Record<string, string> = {};

const csv = (values: Record<string, number>, header = 'id,prediction') =>
  `${header}\n${Object.entries(values).map(([id, v]) => `${id},${v}`).join('\n')}\n`;
const targetCsv = csv(Object.fromEntries(ref.ids.map((id, i) => [id, ref.target[i]])), 'id,target');

/** Exact decimal strings as integers of 1e-18, so balances are compared without floats. */
function units(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.replace('-', '').split('.');
  const value = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, '0'));
  return decimal.startsWith('-') ? -value : value;
}

const resolve = (era: number, key = operatorKey) => t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(key) });
const putTarget = (era: number, name = 'target') =>
  t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/${name}`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: targetCsv });

async function history(modelId: string): Promise<StakeEvent[]> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/models/${modelId}/stake`, headers: bearer(operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().history;
}

async function servedPayouts(era: number): Promise<Map<string, { status: string; payout: string | null; late: boolean }[]>> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/eras/${era}/scores`, headers: bearer(operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  const byModel = new Map<string, { status: string; payout: string | null; late: boolean }[]>();
  for (const s of res.json().scores) byModel.set(s.modelId, [...(byModel.get(s.modelId) ?? []), s]);
  return byModel;
}

/** The reference era's universe and four models, plus `extra` submissions on time; closed. */
async function setUpEra(number: number, extra: Record<string, Record<string, number>> = {}) {
  await createEra(t.app, { number, minCoverage: 0.75 }, operatorKey);
  await putUniverse(t.app, number, ref.ids, operatorKey);
  for (const [name, predictions] of [...Object.entries(ref.predictions), ...Object.entries(extra)]) {
    const res = await submitCsv(t.app, authorKey, ids[name], number, csv(predictions));
    expect(res.statusCode, res.body).toBe(201);
  }
  const closed = await t.app.inject({ method: 'POST', url: `/v1/eras/${number}/close`, headers: bearer(operatorKey) });
  expect(closed.statusCode, closed.body).toBe(200);
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (const name of REF_MODELS) ids[name] = (await createModel(t.app, authorKey, name, String(ref.stakes[name]))).id;
  ids.latecomer = (await createModel(t.app, authorKey, 'latecomer', '30')).id;
  ids.sparse = (await createModel(t.app, authorKey, 'sparse', '40')).id;
});
afterAll(async () => t.close());

describe('resolution', () => {
  it('needs a closed era with its main target (409), an existing era (404) and a staff key (403)', async () => {
    await createEra(t.app, { number: 9 }, operatorKey);
    expectProblem(await resolve(9), 409);
    await setUpEra(1);
    expectProblem(await resolve(1), 409);
    expectProblem(await resolve(999), 404);
    expectProblem(await resolve(1, authorKey), 403);
    // The only late submission of a staked model: scored, never paid.
    const late = await submitCsv(t.app, authorKey, ids.latecomer, 1, csv(ref.predictions.gamma));
    expect(late.json().late).toBe(true);
    expect((await putTarget(1)).statusCode).toBe(200);
  });

  it('pays each model once on top of its stake at that moment, exactly, and a second resolve changes nothing', async () => {
    // A stake change after close: the payout uses the at-risk stake, the balance the latest one.
    await t.app.inject({ method: 'PUT', url: `/v1/models/${ids.alpha}/stake`, headers: bearer(authorKey), payload: { amount: '200' } });
    const first = await resolve(1);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ era: 1, status: 'resolved', totalPayout: '1.725' });

    const expected = { alpha: '205', beta: '47.5', gamma: '10.5', delta: '24.225' };
    for (const name of REF_MODELS) {
      // A negative payout is a burn entry.
      const payouts = (await history(ids[name])).filter((e) => e.kind === 'payout' || e.kind === 'burn');
      expect(payouts).toHaveLength(1);
      expect(Number(payouts[0].delta)).toBeCloseTo(ref.payout.payouts[name], 12);
      expect(payouts[0]).toMatchObject({ era: 1, balance: expected[name] });
    }
    expect((await history(ids.latecomer)).filter((e) => e.kind === 'payout' || e.kind === 'burn')).toEqual([]);
    const scores = await servedPayouts(1);
    expect(scores.get(ids.latecomer)).toEqual([expect.objectContaining({ late: true, status: 'ok', payout: null })]);

    const { rows: [before] } = await t.database.pool.query('select resolved_at from eras where number = 1');
    const again = await resolve(1, ADMIN_KEY);
    expect(again.json()).toEqual(first.json());
    const { rows: [after] } = await t.database.pool.query('select resolved_at from eras where number = 1');
    expect(after.resolved_at).toEqual(before.resolved_at);
    const { rows } = await t.database.pool.query(`select count(*)::int as n from stake_entries where kind in ('payout', 'burn') and era_number = 1`);
    expect(rows[0].n).toBe(4);
    const era = await t.app.inject({ method: 'GET', url: '/v1/eras/1', headers: bearer(authorKey) });
    expect(era.json().status).toBe('resolved');
    const audit = await t.database.pool.query(`select details from audit_log where action = 'era.resolve' and subject = 'era:1'`);
    expect(audit.rows).toEqual([{ details: { target: 'target', version: 1, models: 4, totalPayout: '1.725' } }]);
  });

  it('freezes the targets of a resolved era (409) and keeps its scores', async () => {
    const before = await servedPayouts(1);
    expectProblem(await putTarget(1), 409);
    expectProblem(await putTarget(1, 'cyrus_60'), 409);
    expect(await servedPayouts(1)).toEqual(before);
  });

  it('ten concurrent resolves pay each model once; a model without a score is paid 0', async () => {
    // sparse covers 9 of 12 ids: under the 80 % overlap rule, so it has no score and pays 0.
    const sparse = Object.fromEntries(Object.entries(ref.predictions.alpha).slice(0, 9));
    await setUpEra(2, { sparse });
    expect((await putTarget(2)).statusCode).toBe(200);
    const served = await servedPayouts(2);
    expect(served.get(ids.sparse)).toEqual([expect.objectContaining({ status: 'insufficient_overlap', payout: '0' })]);
    const balances = new Map<string, string>();
    for (const name of [...REF_MODELS, 'sparse']) balances.set(name, (await history(ids[name])).at(-1)!.balance);

    const results = await Promise.all(Array.from({ length: 10 }, () => resolve(2)));
    for (const res of results) expect(res.statusCode, res.body).toBe(200);
    const total = results[0].json().totalPayout as string;
    expect(new Set(results.map((r) => r.body)).size).toBe(1);

    let sum = 0n;
    for (const name of [...REF_MODELS, 'sparse']) {
      const events = (await history(ids[name])).filter((e) => (e.kind === 'payout' || e.kind === 'burn') && e.era === 2);
      expect(events).toHaveLength(1);
      const payout = served.get(ids[name])![0].payout!;
      expect(events[0].delta).toBe(payout);
      expect(units(events[0].balance)).toBe(units(balances.get(name)!) + units(payout));
      sum += units(payout);
    }
    expect(units(total)).toBe(sum);
  });
});
