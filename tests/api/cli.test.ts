import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../src/services/index.js';
import { describeReport } from '../../src/services/verify.js';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { run } from '../support/bundles.js';
import { createModel, liveIds, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';

/*
 * The command line gets its services where the server does (services/index.ts buildServices) and
 * runs the migration's data steps the server runs at start.
 */

const ERA = 7;
const N = 40;
const random = rng(707);

let t: TestApp;

const cli = (...args: string[]) => run('npx', ['tsx', 'src/cli.ts', ...args], { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' });
const sql = (text: string) => t.database.pool.query(text);

beforeAll(async () => {
  t = await createTestApp();
  const operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  const author = (await createAccount(t.app, 'author')).apiKey;
  const ids = liveIds(N, 'cli_');
  const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: ERA, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
  expect(created.statusCode, created.body).toBe(201);
  const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${ERA}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
  expect(universe.statusCode, universe.body).toBe(200);
  for (let k = 0; k < 3; k++) {
    const model = await createModel(t.app, author, `cli_model_${k}`, `${50 + k}`);
    const res = await submitCsv(t.app, author, model.id, ERA, predictionsCsv(ids, ids.map(() => random())));
    expect(res.statusCode, res.body).toBe(201);
  }
  await closeEra(t.app, ERA, operatorKey);
  const put = await t.app.inject({
    method: 'PUT',
    url: `/v1/eras/${ERA}/targets/target`,
    headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
    payload: predictionsCsv(ids, ids.map(() => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]), 'id,target'),
  });
  expect(put.statusCode, put.body).toBe(200);
  const resolved = await t.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/resolve`, headers: bearer(operatorKey) });
  expect(resolved.statusCode, resolved.body).toBe(200);
}, 120_000);
afterAll(async () => t?.close());

describe('the command line', () => {
  it('verify reports what the services buildServices makes report', async () => {
    const services = buildServices(t.config, t.database.db);
    const expected = describeReport(await services.verify.verify());
    await services.close();
    const done = await cli('verify');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout.trimEnd().split('\n')).toEqual(expected);
    expect(done.stdout).toMatch(/era bundle chain intact: 1 resolved era/);
  }, 60_000);

  it('migrate fills in the report figures a database made by an earlier release lacks, once', async () => {
    const point = async () => (await sql(`select count(*)::int as n from era_report_points where era_number = ${ERA}`)).rows[0].n as number;
    expect(await point()).toBe(1);
    const report = (await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${ERA}` })).json();
    // As a database migrated from an earlier release has it: a run without figures, no point, no costs.
    await sql('update meta_model_runs set report = null');
    await sql('delete from era_report_points');
    await sql('delete from policy_costs');
    await sql('delete from policy_cost_totals');
    expect(await point()).toBe(0);

    const first = await cli('migrate');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('migrations applied (report figures of 1 era(s) filled in)\n');
    expect(await point()).toBe(1);
    expect((await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${ERA}` })).json()).toEqual(report);

    const again = await cli('migrate');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('migrations applied\n');
  }, 60_000);

  it('names an unknown command with the usage, exit 2, before touching the database', async () => {
    const done = await run('npx', ['tsx', 'src/cli.ts', 'frobnicate'], { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', LOG_LEVEL: 'silent' });
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/unknown command: frobnicate/);
    for (const command of ['migrate', 'create-key', 'verify']) expect(done.stderr).toContain(`  ${command}`);
  }, 30_000);
});
