import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditService } from '../../src/services/audit.js';
import { bundlesService } from '../../src/services/bundles.js';
import { erasService } from '../../src/services/eras.js';
import { verifyService } from '../../src/services/verify.js';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createModel, liveIds, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';
import { applyAlone } from '../support/upgrade.js';

/*
 * The upgrade to packed scores (migration 0022) on a database with history: two resolved eras
 * and a closed one, made by the service, with two targets, two versions of the main one, late
 * submissions scored on arrival and a late one superseded after it was scored. Their scores are
 * put back in the shape every release before 0022 had (one row per submission, target and
 * version) and 0022 is applied: every score keeps its value bit for bit, the era's and the
 * model's score pages answer the same, the bundles recompute identically (`verify` passes), and
 * the service goes on scoring.
 */

const TAG = '0022_packed_scores';
/** Applied with it: the lateness of each position of the order (the score reads need it). */
const ALSO = '0025_score_order_lateness';
const ERAS = [5, 6, 8] as const;
const random = rng(2222);
let t: TestApp;
let operatorKey: string;
let authorKey: string;
const models: { id: string }[] = [];

const sql = <R extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []) => t.database.pool.query<R>(text, values).then((r) => r.rows);
const get = async (url: string, key = operatorKey) => {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<unknown>();
};
/** Every score row as text (float8 text is exact: the shortest round trip), order aside. */
const scoreRows = async () =>
  (await sql<{ r: string }>(`select r::text as r from (select * from scores) r order by 1`)).map((row) => row.r);
/** What the service serves from scores: an era's pages on every stored version, a model's pages and histories, the bundles. */
const served = async () => {
  const out: Record<string, unknown> = {};
  for (const era of ERAS) {
    const versions = await sql<{ name: string; version: number }>(`select name, version from targets where era_number = $1 order by name, version`, [era]);
    for (const { name, version } of versions) out[`era ${era} ${name} v${version}`] = await get(`/v1/eras/${era}/scores?target=${name}&version=${version}`);
    for (const model of models) out[`model ${model.id} era ${era}`] = await get(`/v1/models/${model.id}/scores?era=${era}&target=target`);
  }
  for (const model of models) {
    out[`model ${model.id}`] = await get(`/v1/models/${model.id}/scores`);
    out[`model ${model.id} page 1`] = await get(`/v1/models/${model.id}/scores?limit=1`);
  }
  for (const era of [5, 6]) out[`bundle ${era}`] = await get(`/v1/eras/${era}/bundle`);
  return out;
};
const targets = (ids: string[], names: string[]) =>
  `id,${names.join(',')}\n` + ids.map((id) => [id, ...names.map(() => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)])].join(',')).join('\n') + '\n';
const putTargets = async (era: number, body: string) => {
  const res = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: body });
  expect(res.statusCode, res.body).toBe(200);
};

/** The scores table as every release before 0022 left it (migration 0021's shape), rows kept. */
const BEFORE_0022 = `
  create table scores_old (submission_id uuid not null, target text not null, target_version integer not null, era_number integer not null,
    model_id uuid not null, run_id uuid, status text not null, corr double precision, mmc double precision, stake numeric, payout numeric,
    computed_at timestamp with time zone default now() not null,
    constraint scores_submission_id_target_target_version_pk primary key (submission_id, target, target_version));
  insert into scores_old select * from scores;
  drop view scores; drop table score_sets; drop table score_orders;
  alter table scores_old rename to scores;
  create index scores_era_target_version_idx on scores (era_number, target, target_version);`;

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (let k = 0; k < 3; k++) models.push(await createModel(t.app, authorKey, `packed_model_${k}`, `${20 + k}`));
  for (const era of ERAS) {
    const ids = liveIds(30, `p${era}_`);
    const send = (model: { id: string }) => submitCsv(t.app, authorKey, model.id, era, predictionsCsv(ids, ids.map(() => random())));
    const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: era, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    for (const model of models) expect((await send(model)).statusCode).toBe(201);
    expect((await send(models[0])).statusCode).toBe(201);
    await closeEra(t.app, era, operatorKey);
    expect((await send(models[1])).json().late).toBe(true);
    await putTargets(era, targets(ids, ['target', 'other']));
    // Scored on arrival, superseding the late one scored above: that one's scores go.
    expect((await send(models[1])).json().late).toBe(true);
    await putTargets(era, targets(ids, ['target']));
    if (era !== 8) expect((await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) })).statusCode).toBe(200);
  }
}, 180_000);
afterAll(async () => t?.close());

describe('migration 0022 on a database with history', () => {
  it('keeps every score bit for bit; scores, model pages and bundles read the same; verify passes; scoring goes on', async () => {
    const rowsBefore = await scoreRows();
    // 3 eras × (3 on-time + 1 late) submissions × (target v1, other v1, target v2).
    expect(rowsBefore.length).toBe(3 * 4 * 3);
    const servedBefore = await served();

    await sql(BEFORE_0022);
    // Values only exact storage keeps apart, in rows of an era no page shows: negative zero, a subnormal, NaN, a null beside a value, a long decimal.
    await sql(`insert into scores (submission_id, target, target_version, era_number, model_id, status, corr, mmc, stake, payout) values
      (gen_random_uuid(), 'edge', 1, 9, $1, 'ok', '-0', '5e-324', '12.5', '-0.0000000001'),
      (gen_random_uuid(), 'edge', 1, 9, $1, 'mmc_empty', 'NaN', null, null, null)`, [models[0].id]);
    const oldRows = await scoreRows();
    const bits = `select submission_id, target, target_version, float8send(corr) as corr, float8send(mmc) as mmc, stake::text, payout::text from scores order by 1, 2, 3`;
    const bitsBefore = await sql(bits);
    expect(await sql(`select relkind::text from pg_class where relname = 'scores'`)).toEqual([{ relkind: 'r' }]);

    // Applies 0022, and 0025 (which gives the order it makes each position's lateness), as an upgrade
    // would, with the other migrations after 0022 left recorded as they are.
    await applyAlone(t.database.pool, [TAG, ALSO]);

    expect(await sql(`select relkind::text from pg_class where relname = 'scores'`)).toEqual([{ relkind: 'v' }]);
    // One packed row per era, target and version: 3 eras × 3 versions, and the edge rows' one.
    expect(await sql(`select count(*)::int as n from score_sets`)).toEqual([{ n: 10 }]);
    expect(await scoreRows()).toEqual(oldRows);
    expect(await sql(bits)).toEqual(bitsBefore);

    expect(await served()).toEqual(servedBefore);

    const db = t.database.db;
    const eras = erasService({ db, audit: auditService(db), config: t.config });
    const report = await verifyService({ db, eras, bundles: bundlesService({ db, eras }) }).verify();
    expect(report.bundles).toMatchObject({ checked: 2, break: null });
    expect(report.ledger.mismatches).toEqual([]);

    // Scoring goes on: a new version of the closed era's main target scores every current submission.
    const ids = liveIds(30, 'p8_');
    await putTargets(8, targets(ids, ['target']));
    const page = (await get(`/v1/eras/8/scores?target=target`)) as { version: number; scores: { late: boolean }[] };
    expect(page.version).toBe(3);
    expect(page.scores.map((s) => s.late)).toEqual([false, false, false, true]);
  });
});
