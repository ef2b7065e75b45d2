import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';

/* The operator's console: a resolve dry run that writes nothing, and an era's submission summary. */

let t: TestApp;
let operator: string;
let author: string;
let thief: string;

const IDS = liveIds(120, 'cz');
const random = rng(42);
const randomCsv = () => predictionsCsv(IDS, IDS.map(() => Math.round(random() * 1e6) / 1e6));
const targetCsv = `id,target\n${IDS.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][(i * 3) % 5]}`).join('\n')}\n`;
const resolve = (era: number, query = '', key = operator) => t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve${query}`, headers: bearer(key) });
const summary = (era: number, key = operator) => t.app.inject({ method: 'GET', url: `/v1/eras/${era}/submissions/summary`, headers: bearer(key) });

/** Every row of the tables a resolution writes, as text: equal before and after means nothing was written. */
async function writtenState() {
  const state: Record<string, string> = {};
  for (const table of ['stake_entries', 'stake_releases', 'wallet_entries', 'audit_log', 'era_bundles', 'model_era_results', 'eras']) {
    const { rows } = await t.database.pool.query(`select * from ${table} order by 1`);
    state[table] = JSON.stringify(rows);
  }
  return state;
}

async function submit(key: string, modelId: string, era: number, csv: string) {
  const res = await submitCsv(t.app, key, modelId, era, csv);
  expect(res.statusCode, res.body).toBe(201);
}

beforeAll(async () => {
  t = await createTestApp();
  operator = (await createAccount(t.app, 'operator')).apiKey;
  author = (await createAccount(t.app, 'author')).apiKey;
  thief = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('a resolve dry run', () => {
  it('answers what resolving would pay, writes nothing, and the real resolve then pays exactly that', async () => {
    await createEra(t.app, { number: 1 }, operator);
    await putUniverse(t.app, 1, IDS, operator);
    const models = [];
    for (const [name, stake] of [['dry_a', '100'], ['dry_b', '40.5'], ['dry_c', '7.25'], ['dry_unstaked', undefined]] as const) {
      const model = await createModel(t.app, author, name, stake);
      await submit(author, model.id, 1, randomCsv());
      models.push(model);
    }
    await closeEra(t.app, 1, operator);
    // A release waiting for the era: it leaves at resolution, which the dry run must not do.
    expect((await t.app.inject({ method: 'PUT', url: `/v1/models/${models[0].id}/stake`, headers: bearer(author), payload: { amount: '60' } })).statusCode).toBe(200);

    expectProblem(await resolve(1, '?dryRun=true'), 409); // no main target yet
    const put = await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { ...bearer(operator), 'content-type': 'text/csv' }, payload: targetCsv });
    expect(put.statusCode, put.body).toBe(200);
    expectProblem(await resolve(1, '?dryRun=true', author), 403);
    expectProblem(await resolve(1, '?dryRun=yes'), 400);
    expectProblem(await resolve(999, '?dryRun=true'), 404);

    const before = await writtenState();
    const dry = await resolve(1, '?dryRun=true');
    expect(dry.statusCode, dry.body).toBe(200);
    const preview = dry.json<{ era: number; totalPayout: string; models: { modelId: string; name: string; stake: string; corr: number; mmc: number; payout: string }[] }>();
    expect(await writtenState()).toEqual(before);
    expect((await resolve(1, '?dryRun=true')).json()).toEqual(preview);

    expect(preview.era).toBe(1);
    expect(preview.models.map((m) => [m.name, m.stake])).toEqual([['dry_a', '100'], ['dry_b', '40.5'], ['dry_c', '7.25']]);
    const scores = (await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores', headers: bearer(operator) })).json().scores as { model: string; corr: number; mmc: number }[];
    for (const m of preview.models) expect([m.corr, m.mmc]).toEqual([scores.find((s) => s.model === m.name)!.corr, scores.find((s) => s.model === m.name)!.mmc]);
    expect(preview.models.some((m) => m.payout.startsWith('-'))).toBe(true);

    const real = await resolve(1);
    expect(real.statusCode, real.body).toBe(200);
    expect(real.json().totalPayout).toBe(preview.totalPayout);
    const { rows } = await t.database.pool.query<{ model_id: string; delta: string }>(
      `select model_id, delta::text from stake_entries where era_number = 1 and kind in ('payout', 'burn')`,
    );
    const paid = new Map(rows.map((r) => [r.model_id, r.delta]));
    expect(paid.size).toBe(preview.models.length);
    const exact = (d: string) => (d.includes('.') ? d.replace(/0+$/, '').replace(/\.$/, '') : d);
    for (const m of preview.models) expect(exact(paid.get(m.modelId)!)).toBe(exact(m.payout));

    // Resolved: nothing left to preview.
    expect(expectProblem(await resolve(1, '?dryRun=true'), 409).detail).toMatch(/already resolved/);
  });
});

describe("an era's submission summary", () => {
  it('counts submissions and stake, names staked models that have not submitted, and finds copies across accounts', async () => {
    await createEra(t.app, { number: 2 }, operator);
    await putUniverse(t.app, 2, IDS, operator);
    const original = randomCsv();
    const twin = randomCsv();
    const honest = await createModel(t.app, author, 'honest', '10');
    const copy = await createModel(t.app, thief, 'copycat', '5');
    const sibling1 = await createModel(t.app, author, 'sibling_one', '2');
    const sibling2 = await createModel(t.app, author, 'sibling_two');
    const other = await createModel(t.app, thief, 'other', '3');
    await createModel(t.app, thief, 'absent', '8');
    await createModel(t.app, author, 'unstaked_absent');
    await submit(author, honest.id, 2, original);
    await submit(thief, copy.id, 2, original); // byte-identical, another account
    await submit(author, sibling1.id, 2, twin);
    await submit(author, sibling2.id, 2, twin); // identical, but one account: not a duplicate
    await submit(thief, other.id, 2, randomCsv());

    const res = await summary(2);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      era: 2,
      submitted: 5,
      staked: 4,
      late: 0,
      atRisk: '20',
      duplicates: [{ models: ['copycat', 'honest'], spearman: 1 }],
      duplicatesComplete: true,
      missing: expect.arrayContaining(['absent']),
    });
    expect(res.json().missing).not.toContain('unstaked_absent');
    expect(res.json().missing).not.toContain('honest');

    // Closed: the at-risk stake is the closing run's, and a submission now is late.
    const closed = await closeEra(t.app, 2, operator);
    await submit(thief, (await createModel(t.app, thief, 'latecomer', '1')).id, 2, original);
    const after = (await summary(2)).json();
    expect(after).toMatchObject({ submitted: 5, staked: 4, late: 1, atRisk: closed.run.totalStake });
    expect(after.duplicates).toEqual([{ models: ['copycat', 'honest', 'latecomer'], spearman: 1 }]);
  });

  it('is for operators and admins, about an existing era', async () => {
    expectProblem(await summary(2, author), 403);
    expectProblem(await summary(404), 404);
    expect((await summary(2, ADMIN_KEY)).statusCode).toBe(200);
  });
});
