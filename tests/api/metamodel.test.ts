import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { closeEra, metaModel, plainMetaModel, plainTieKeptRank, referenceEra, runs, setStake } from '../support/metamodel.js';

let t: TestApp;
let operatorKey: string;

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
});
afterAll(async () => t.close());

const HOUR = 3_600_000;
const openEra = (number: number, extra: Record<string, unknown> = {}) =>
  createEra(t.app, { number, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString(), ...extra });

async function submitted(authorKey: string, modelId: string, era: number, csv: string) {
  const res = await submitCsv(t.app, authorKey, modelId, era, csv);
  if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string; sha256: string; late: boolean }>();
}

/** Runs tasks with at most `limit` in flight. */
async function pooled<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await task(items[next++]);
  }));
}

describe('the meta-model over the API', () => {
  it('equals the numerai-tools reference era to 1e-9', async () => {
    const ref = referenceEra();
    const author = await createAccount(t.app, 'author');
    // delta misses id11: the era accepts submissions covering 90 % of the ids.
    await openEra(1, { minCoverage: 0.9 });
    await putUniverse(t.app, 1, ref.ids);
    for (const [name, predictions] of Object.entries(ref.predictions)) {
      const model = await createModel(t.app, author.apiKey, `ref_${name}`, String(ref.stakes[name]));
      const ids = Object.keys(predictions);
      await submitted(author.apiKey, model.id, 1, predictionsCsv(ids, ids.map((id) => predictions[id])));
    }

    const closed = await closeEra(t.app, 1, operatorKey);
    expect(closed).toMatchObject({ era: 1, status: 'closed', run: { seq: 1, trigger: 'close', models: 4, totalStake: '185.5', tradable: 12, policy: null } });

    const served = await metaModel(t.app, 1, operatorKey);
    expect(served.run).toMatchObject({ id: closed.run.id, models: 4, totalStake: '185.5', policy: null });
    expect(served.rows.map((r) => r.id)).toEqual(ref.ids);
    served.rows.forEach((row, i) => {
      expect(row.unconstrained).toBeCloseTo(ref.unconstrained[i], 9);
      expect(row.value).toBeCloseTo(ref.value[i], 9);
      expect(row.excludedBy).toEqual([]);
    });
  });

  it('equals an independent stake-weighted mean of gaussianized tie-kept ranks for hundreds of models', async () => {
    const random = rng(2024);
    const ids = liveIds(2000, 'r');
    const author = await createAccount(t.app, 'author');
    await openEra(2, { minCoverage: 0.9 });
    await putUniverse(t.app, 2, ids);

    const specs = Array.from({ length: 300 }, (_, k) => {
      // Some models leave ids out, some round their values (many ties), some have no stake at all.
      const kept = k % 5 === 0 ? ids.filter(() => random() > 0.05) : ids;
      const values = kept.map(() => (k % 3 === 0 ? Math.round(random() * 20) / 20 : random()));
      const stake = k % 11 === 0 ? undefined : k % 13 === 0 ? '0' : (random() * 1000 + 0.01).toFixed(2);
      return { name: `rand_${k}`, kept, values, stake };
    });
    await pooled(specs, 8, async (spec) => {
      const model = await createModel(t.app, author.apiKey, spec.name, spec.stake);
      await submitted(author.apiKey, model.id, 2, predictionsCsv(spec.kept, spec.values));
    });

    const closed = await closeEra(t.app, 2, operatorKey);
    const staked = specs.filter((s) => s.stake !== undefined && Number(s.stake) > 0);
    expect(closed.run.models).toBe(staked.length);
    const expected = plainMetaModel(
      ids,
      staked.map((s) => ({ predictions: new Map(s.kept.map((id, i) => [id, s.values[i]])), stake: Number(s.stake) })),
    );
    const expectedValue = plainTieKeptRank(expected);

    const served = await metaModel(t.app, 2, operatorKey);
    expect(served.rows.map((r) => r.id)).toEqual(ids);
    let worst = 0;
    served.rows.forEach((row, i) => {
      worst = Math.max(worst, Math.abs(row.unconstrained - expected[i]), Math.abs(row.value! - expectedValue[i]!));
    });
    expect(worst).toBeLessThan(1e-6);
    // The exact sum of the at-risk stakes, in cents so the test adds no float error.
    const cents = staked.reduce((sum, s) => sum + Math.round(Number(s.stake) * 100), 0);
    expect(closed.run.totalStake).toBe(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`);
    // 300 uploads of 2,000 ids: over the default 30 s when the 2 cores are shared with other suites.
  }, 120_000);

  it('leaves out late and superseded submissions, and models without a positive stake', async () => {
    const ids = liveIds(40, 'ls');
    const random = rng(7);
    const vector = () => ids.map(() => random());
    const author = await createAccount(t.app, 'author');
    await openEra(3);
    await putUniverse(t.app, 3, ids);

    const resubmits = await createModel(t.app, author.apiKey, 'ls_resubmits', '10');
    const first = vector();
    const second = vector();
    const superseded = await submitted(author.apiKey, resubmits.id, 3, predictionsCsv(ids, first));
    const current = await submitted(author.apiKey, resubmits.id, 3, predictionsCsv(ids, second));
    const onTimeThenLate = await createModel(t.app, author.apiKey, 'ls_on_time', '30');
    const onTime = vector();
    const onTimeSubmission = await submitted(author.apiKey, onTimeThenLate.id, 3, predictionsCsv(ids, onTime));
    const lateOnly = await createModel(t.app, author.apiKey, 'ls_late_only', '1000');
    const zeroStake = await createModel(t.app, author.apiKey, 'ls_zero', '0');
    await submitted(author.apiKey, zeroStake.id, 3, predictionsCsv(ids, vector()));

    const closed = await closeEra(t.app, 3, operatorKey);
    const late1 = await submitted(author.apiKey, onTimeThenLate.id, 3, predictionsCsv(ids, vector()));
    const late2 = await submitted(author.apiKey, lateOnly.id, 3, predictionsCsv(ids, vector()));
    expect([late1.late, late2.late]).toEqual([true, true]);
    // A late submission after close changes nothing, even in a recompute.
    const recompute = await t.app.inject({ method: 'POST', url: '/v1/eras/3/meta-model/compute', headers: bearer(operatorKey) });
    expect(recompute.statusCode).toBe(200);

    const lineage = await runs(t.app, 3, operatorKey);
    expect(lineage.map((r) => r.id)).toEqual([closed.run.id, recompute.json().id]);
    for (const run of lineage) {
      expect(run.models).toBe(2);
      expect(run.totalStake).toBe('40');
      expect(new Set(run.inputs!.map((i) => i.submissionId))).toEqual(new Set([current.id, onTimeSubmission.id]));
      expect(run.inputs!.map((i) => i.sha256)).not.toContain(superseded.sha256);
    }
    const expected = plainMetaModel(ids, [
      { predictions: new Map(ids.map((id, i) => [id, second[i]])), stake: 10 },
      { predictions: new Map(ids.map((id, i) => [id, onTime[i]])), stake: 30 },
    ]);
    const served = await metaModel(t.app, 3, operatorKey);
    served.rows.forEach((row, i) => expect(row.unconstrained).toBeCloseTo(expected[i], 7));
  });

  it('closes an era with no staked model: 0 models, total stake 0, M all zero and every value at the middle rank', async () => {
    const ids = liveIds(10, 'z');
    const author = await createAccount(t.app, 'author');
    await openEra(4);
    await putUniverse(t.app, 4, ids);
    const model = await createModel(t.app, author.apiKey, 'z_unstaked');
    await submitted(author.apiKey, model.id, 4, predictionsCsv(ids, ids.map((_, i) => i / 10)));

    const closed = await closeEra(t.app, 4);
    expect(closed.run).toMatchObject({ models: 0, totalStake: '0', tradable: 10 });
    const served = await metaModel(t.app, 4);
    expect(served.rows.map((r) => [r.unconstrained, r.value])).toEqual(ids.map(() => [0, 0.5]));
  });

  it('recomputes from the stakes snapshotted at close, not later ones', async () => {
    const ids = liveIds(30, 'rc');
    const author = await createAccount(t.app, 'author');
    await openEra(5);
    await putUniverse(t.app, 5, ids);
    const a = await createModel(t.app, author.apiKey, 'rc_a', '12.5');
    const b = await createModel(t.app, author.apiKey, 'rc_b', '7.25');
    await submitted(author.apiKey, a.id, 5, predictionsCsv(ids, ids.map((_, i) => (i * 7) % 30 / 30)));
    await submitted(author.apiKey, b.id, 5, predictionsCsv(ids, ids.map((_, i) => (i * 11) % 30 / 30)));
    const closed = await closeEra(t.app, 5, operatorKey);
    expect(closed.run.totalStake).toBe('19.75');
    const before = await metaModel(t.app, 5);

    await setStake(t.app, author.apiKey, a.id, '5000');
    await setStake(t.app, author.apiKey, b.id, '0');
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => t.app.inject({ method: 'POST', url: '/v1/eras/5/meta-model/compute', headers: bearer(operatorKey) })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(responses.map((r) => r.json().seq).sort()).toEqual([2, 3, 4, 5, 6]);

    const lineage = await runs(t.app, 5, operatorKey);
    expect(lineage.map((r) => [r.seq, r.trigger])).toEqual([[1, 'close'], [2, 'recompute'], [3, 'recompute'], [4, 'recompute'], [5, 'recompute'], [6, 'recompute']]);
    for (const run of lineage) {
      expect(run).toMatchObject({ models: 2, totalStake: '19.75' });
      expect(run.inputs!.map((i) => [i.modelId, i.stake]).sort()).toEqual([[a.id, '12.5'], [b.id, '7.25']].sort());
    }
    const after = await metaModel(t.app, 5);
    expect(after.run.id).toBe(lineage[5].id);
    expect(after.rows).toEqual(before.rows);
    const audit = await t.database.pool.query(`select count(*)::int as n from audit_log where action = 'metamodel.recompute' and subject = 'era:5'`);
    expect(audit.rows[0].n).toBe(5);
  });

  it('serves CSV of the tradable ids only, and shows excluded ids with no value', async () => {
    const ids = liveIds(8, 'csv');
    const author = await createAccount(t.app, 'author');
    await openEra(6);
    await putUniverse(t.app, 6, ids);
    const model = await createModel(t.app, author.apiKey, 'csv_model', '1');
    await submitted(author.apiKey, model.id, 6, predictionsCsv(ids, [0.3, 0.1, 0.8, 0.5, 0.2, 0.9, 0.4, 0.7]));
    await closeEra(t.app, 6, operatorKey);

    const all = await t.app.inject({ method: 'GET', url: '/v1/eras/6/meta-model', headers: { ...bearer(operatorKey), accept: 'text/csv' } });
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-type']).toMatch(/^text\/csv/);
    const json = await metaModel(t.app, 6, operatorKey);
    expect(all.body).toBe(`id,value\n${json.rows.map((r) => `${r.id},${r.value}\n`).join('')}`);

    // Stand in for a policy that excluded two ids: their value is NaN in the stored run.
    const { rows } = await t.database.pool.query('select id, value from meta_model_runs where era_number = 6');
    const value = Buffer.from(rows[0].value as Buffer);
    value.writeDoubleLE(NaN, 8 * 2);
    value.writeDoubleLE(NaN, 8 * 5);
    await t.database.pool.query(`update meta_model_runs set value = $1, tradable = 6, excluded_by = '{"2": ["tobacco"], "5": ["tobacco", "coal"]}' where id = $2`, [value, rows[0].id]);

    const csv = await t.app.inject({ method: 'GET', url: '/v1/eras/6/meta-model', headers: { ...bearer(operatorKey), accept: 'text/csv' } });
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('id,value');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(ids.filter((_, i) => i !== 2 && i !== 5));
    const served = await metaModel(t.app, 6, operatorKey);
    expect(served.rows[2]).toMatchObject({ id: ids[2], value: null, excludedBy: ['tobacco'] });
    expect(served.rows[5]).toMatchObject({ id: ids[5], value: null, excludedBy: ['tobacco', 'coal'] });
    expect(served.rows[0]).toMatchObject({ excludedBy: [] });
    expect(served.rows[0].value).toBeTypeOf('number');
  });

  it('leaves nothing behind when the computation fails, and the next close completes it', async () => {
    const ids = liveIds(12, 'fail');
    const author = await createAccount(t.app, 'author');
    await openEra(7);
    await putUniverse(t.app, 7, ids);
    const model = await createModel(t.app, author.apiKey, 'fail_model', '3');
    const submission = await submitted(author.apiKey, model.id, 7, predictionsCsv(ids, ids.map((_, i) => i / 12)));
    const { rows } = await t.database.pool.query('select ranks from submissions where id = $1', [submission.id]);
    await t.database.pool.query(`update submissions set ranks = '\\x07'::bytea where id = $1`, [submission.id]);

    const failed = await t.app.inject({ method: 'POST', url: '/v1/eras/7/close', headers: bearer(operatorKey) });
    expectProblem(failed, 500);
    const state = await t.database.pool.query(`
      select (select closed_at from eras where number = 7) as closed_at,
             (select count(*)::int from meta_model_runs where era_number = 7) as runs,
             (select count(*)::int from run_inputs where submission_id = $1) as inputs,
             (select count(*)::int from audit_log where subject = 'era:7' and action = 'era.close') as audits`, [submission.id]);
    expect(state.rows[0]).toEqual({ closed_at: null, runs: 0, inputs: 0, audits: 0 });

    await t.database.pool.query('update submissions set ranks = $1 where id = $2', [rows[0].ranks, submission.id]);
    const closed = await closeEra(t.app, 7, operatorKey);
    expect(closed.run).toMatchObject({ seq: 1, models: 1, totalStake: '3' });
  });
});

describe('meta-model routes refuse what they must', () => {
  it('authors get 403 on every meta-model route, callers without a key 401', async () => {
    const author = await createAccount(t.app, 'author');
    const routes = [
      ['POST', '/v1/eras/1/close'],
      ['GET', '/v1/eras/1/meta-model'],
      ['POST', '/v1/eras/1/meta-model/compute'],
      ['GET', '/v1/eras/1/meta-model/runs'],
    ] as const;
    for (const [method, url] of routes) {
      expectProblem(await t.app.inject({ method, url, headers: bearer(author.apiKey) }), 403);
      expectProblem(await t.app.inject({ method, url }), 401);
    }
  });

  it('an open era has no meta-model (404) and cannot be recomputed (409); an unknown era is 404', async () => {
    await openEra(20);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/20/meta-model', headers: bearer(operatorKey) }), 404);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/eras/20/meta-model/compute', headers: bearer(operatorKey) }), 409);
    const lineage = await t.app.inject({ method: 'GET', url: '/v1/eras/20/meta-model/runs', headers: bearer(operatorKey) });
    expect(lineage.json()).toEqual({ era: 20, runs: [] });
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/eras/999/close', headers: bearer(operatorKey) }), 404);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/999/meta-model', headers: bearer(operatorKey) }), 404);
  });

  it('an era without a universe cannot close (409) and stays open', async () => {
    await openEra(21);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/eras/21/close', headers: bearer(operatorKey) }), 409);
    const era = await t.app.inject({ method: 'GET', url: '/v1/eras/21', headers: bearer(ADMIN_KEY) });
    expect(era.json()).toMatchObject({ status: 'open', closedAt: null });
  });

  it('documents every meta-model route in OpenAPI', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    expect(Object.keys(doc.paths['/v1/eras/{number}/close'])).toEqual(['post']);
    expect(doc.paths['/v1/eras/{number}/meta-model'].get.responses).toHaveProperty('403');
    expect(doc.paths['/v1/eras/{number}/meta-model/compute'].post.responses).toHaveProperty('409');
    expect(doc.paths['/v1/eras/{number}/meta-model/runs'].get.responses).toHaveProperty('200');
  });
});
