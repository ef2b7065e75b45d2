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
 * The upgrade to era partitions (migration 0021) on a database with history: two resolved eras
 * and an open one, made by the service, with superseded and late submissions. Their submissions
 * and run inputs are put back in the shape every release before 0021 had (one table each, keyed
 * by id and by run and model, as migrations 0000-0013 made them) and 0021 is applied to them:
 * every submission, run input, score, ledger entry and bundle is kept, `verify` passes, and the
 * service goes on taking submissions.
 */

const TAG = '0021_era_partitions';
const random = rng(2121);
let t: TestApp;
let operatorKey: string;
let authorKey: string;
const models: { id: string }[] = [];

const sql = <R extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []) => t.database.pool.query<R>(text, values).then((r) => r.rows);
/** A table's whole content as one digest, whatever its columns. */
const digestOf = async (query: string) => (await sql<{ d: string; n: number }>(`select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) as d, count(*)::int as n from (${query}) r`))[0];
const everything = async () => ({
  submissions: await digestOf('select id, era_number, model_id, sha256, rows, covered, late, superseded, raw, raw_encoding, ranks, created_at from submissions'),
  runInputs: await digestOf('select ri.run_id, ri.model_id, ri.submission_id, ri.sha256, ri.stake from run_inputs ri'),
  scores: await digestOf('select * from scores'),
  ledger: await digestOf('select * from stake_entries'),
  wallets: await digestOf('select * from wallet_entries'),
  bundles: await digestOf('select * from era_bundles'),
  audit: await digestOf('select * from audit_log'),
});

/** Submissions and run_inputs as migrations 0000, 0001 and 0003 left them, rows kept; 0021's additions gone. */
const BEFORE_0021 = `
  create table submissions_old (
    id uuid primary key default gen_random_uuid() not null, era_number integer not null references eras(number), model_id uuid not null references models(id),
    sha256 text not null, rows integer not null, covered integer not null, late boolean not null, superseded boolean default false not null,
    raw bytea not null, ranks bytea not null, created_at timestamp with time zone default now() not null,
    raw_encoding text default 'float64' not null constraint submissions_raw_encoding_check check (raw_encoding in ('float64', 'decimal')));
  alter table submissions_old alter column raw set storage external, alter column ranks set storage external;
  insert into submissions_old select id, era_number, model_id, sha256, rows, covered, late, superseded, raw, ranks, created_at, raw_encoding from submissions;
  create table run_inputs_old (run_id uuid not null references meta_model_runs(id), model_id uuid not null references models(id),
    submission_id uuid not null, sha256 text not null, stake numeric not null, primary key (run_id, model_id));
  insert into run_inputs_old select run_id, model_id, submission_id, sha256, stake from run_inputs;
  drop table run_inputs; drop table submissions; drop table era_storage; drop function ensure_era_partitions(integer);
  alter table submissions_old rename to submissions; alter table run_inputs_old rename to run_inputs;
  alter table submissions rename constraint submissions_old_pkey to submissions_pkey;
  alter table run_inputs rename constraint run_inputs_old_pkey to run_inputs_run_id_model_id_pk;
  alter table run_inputs add constraint run_inputs_submission_id_submissions_id_fk foreign key (submission_id) references submissions(id);
  create index submissions_model_idx on submissions (model_id, created_at);
  create index submissions_era_idx on submissions (era_number);
  create unique index submissions_current_key on submissions (era_number, model_id, late) where not superseded;
  do $$ begin
    -- a table still (migration 0022 made scores a view over packed rows, which keep no foreign key)
    if exists (select 1 from pg_class where relname = 'scores' and relkind = 'r') then
      alter table scores add constraint scores_submission_id_submissions_id_fk foreign key (submission_id) references submissions(id);
    end if;
  end $$;`;

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (let k = 0; k < 3; k++) models.push(await createModel(t.app, authorKey, `upgrade_model_${k}`, `${20 + k}`));
  for (const era of [5, 6, 7]) {
    const ids = liveIds(30, `u${era}_`);
    const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: era, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    for (const model of models) expect((await submitCsv(t.app, authorKey, model.id, era, predictionsCsv(ids, ids.map(() => random())))).statusCode).toBe(201);
    expect((await submitCsv(t.app, authorKey, models[0].id, era, predictionsCsv(ids, ids.map(() => random())))).statusCode).toBe(201);
    if (era === 7) continue;
    await closeEra(t.app, era, operatorKey);
    const late = await submitCsv(t.app, authorKey, models[1].id, era, predictionsCsv(ids, ids.map(() => random())));
    expect(late.json().late).toBe(true);
    const put = await t.app.inject({
      method: 'PUT',
      url: `/v1/eras/${era}/targets/target`,
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: predictionsCsv(ids, ids.map(() => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]), 'id,target'),
    });
    expect(put.statusCode, put.body).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) })).statusCode).toBe(200);
  }
}, 180_000);
afterAll(async () => t?.close());

describe('migration 0021 on a database with history', () => {
  it('keeps every submission, run input, score, ledger entry and bundle; verify passes; submissions go on', async () => {
    const before = await everything();
    expect(before.submissions.n).toBe(3 * 4 + 2);
    expect(before.runInputs.n).toBeGreaterThan(0);
    expect(before.scores.n).toBeGreaterThan(0);

    await sql(BEFORE_0021);
    expect(await sql(`select relkind::text from pg_class where relname = 'submissions'`)).toEqual([{ relkind: 'r' }]);
    // Applies 0021 alone, as an upgrade would, with the migrations after it left recorded as they are.
    await applyAlone(t.database.pool, [TAG]);

    expect(await sql(`select relkind::text from pg_class where relname in ('submissions', 'run_inputs') order by relname`)).toEqual([{ relkind: 'p' }, { relkind: 'p' }]);
    expect(await everything()).toEqual(before);
    expect(await sql(`select tableoid::regclass::text as p, count(*)::int as n from submissions group by 1 order by 1`)).toEqual([
      { p: 'submissions_e5', n: 5 },
      { p: 'submissions_e6', n: 5 },
      { p: 'submissions_e7', n: 4 },
    ]);
    expect(await sql(`select count(*)::int as n from run_inputs ri join meta_model_runs r on r.id = ri.run_id where ri.era_number <> r.era_number`)).toEqual([{ n: 0 }]);

    const db = t.database.db;
    const eras = erasService({ db, audit: auditService(db), config: t.config });
    const report = await verifyService({ db, eras, bundles: bundlesService({ db, eras }) }).verify();
    expect(report.bundles).toMatchObject({ checked: 2, break: null, archived: 0 });
    expect(report.ledger.mismatches).toEqual([]);
    expect(report.money.conserved).toBe(true);

    // The open era takes a new submission, superseding the model's current one in its partition.
    const ids = liveIds(30, 'u7_');
    const res = await submitCsv(t.app, authorKey, models[2].id, 7, predictionsCsv(ids, ids.map(() => random())));
    expect(res.statusCode, res.body).toBe(201);
    expect(await sql(`select count(*)::int as n from submissions_e7 where model_id = $1 and superseded`, [models[2].id])).toEqual([{ n: 1 }]);
  });
});
