import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../src/services/index.js';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { run, scratchFile } from '../support/bundles.js';
import { createModel, liveIds, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';

/*
 * Two resolved eras, then what an attacker with superuser rights could do quietly before: rewrite
 * a payout in the ledger consistently (the entry and every later one, so every constraint still
 * holds), or remove the newest audit entries. `verify` names the first; the published heads,
 * kept by a reader and given to `verify --heads`, name the second.
 */

const ERAS = [41, 42] as const;
const N = 60;
const random = rng(4242);

let t: TestApp;
let operatorKey: string;
const models: { id: string; name: string }[] = [];

const sql = (text: string, values: unknown[] = []) => t.database.pool.query(text, values);
const get = (url: string) => t.app.inject({ method: 'GET', url });
// The services the server and the command line are built from.
const verify = () => buildServices(t.config, t.database.db).verify.verify();
const cli = (...args: string[]) => run('npx', ['tsx', 'src/cli.ts', 'verify', ...args], { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' });

/** Runs statements as a superuser would to get past the ledger's and the audit log's triggers and foreign keys: with replication's role, which fires none. */
async function asReplica(statements: [string, unknown[]][]) {
  const client = await t.database.pool.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    for (const [text, values] of statements) await client.query(text, values);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

/** Adds `delta` to a payout entry and carries it through every later entry of the model, so each still chains and checks. */
const rewritePayout = (entryId: string, delta: string) =>
  asReplica([
    ['update stake_entries set delta = delta + $2, amount = amount + $2, balance = balance + $2 where id = $1', [entryId, delta]],
    [
      `update stake_entries e set prev_amount = e.prev_amount + $2, prev_balance = e.prev_balance + $2, amount = e.amount + $2, balance = e.balance + $2
       from stake_entries p where p.id = $1 and e.model_id = p.model_id and e.seq > p.seq`,
      [entryId, delta],
    ],
  ]);

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  const author = (await createAccount(t.app, 'author')).apiKey;
  for (let k = 0; k < 4; k++) models.push(await createModel(t.app, author, `heads_model_${k}`, `${100 + 25 * k}.5`));
  for (const era of ERAS) {
    const ids = liveIds(N, `h${era}_`);
    const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: era, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    const target = ids.map(() => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]);
    // Model 0 predicts the target itself (a positive payout); the others at random.
    for (const [k, model] of models.entries()) {
      const values = k === 0 ? target.map((v, i) => v * 0.9 + i * 1e-6) : ids.map(() => random());
      const res = await submitCsv(t.app, author, model.id, era, predictionsCsv(ids, values));
      expect(res.statusCode, res.body).toBe(201);
    }
    await closeEra(t.app, era, operatorKey);
    const put = await t.app.inject({
      method: 'PUT',
      url: `/v1/eras/${era}/targets/target`,
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: predictionsCsv(ids, target, 'id,target'),
    });
    expect(put.statusCode, put.body).toBe(200);
    const resolved = await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) });
    expect(resolved.statusCode, resolved.body).toBe(200);
  }
}, 120_000);
afterAll(async () => t?.close());

describe('GET /v1/reports/heads', () => {
  it('publishes each chain\'s length and last digest without a key, and every link\'s digest by position', async () => {
    const res = await get('/v1/reports/heads');
    expect(res.statusCode, res.body).toBe(200);
    const heads = res.json();
    const links = (await sql('select position, chain_digest from era_bundles order by position')).rows;
    const audit = (await sql('select chain_digest from audit_log where chain_digest is not null order by id')).rows;
    expect(links).toHaveLength(ERAS.length);
    expect(heads).toEqual({
      bundles: { count: links.length, chainDigest: links.at(-1).chain_digest },
      audit: { count: audit.length, chainDigest: audit.at(-1).chain_digest },
    });
    // The newest bundle's chain digest, as the bundle itself carries it.
    const newest = (await sql('select era_number from era_bundles order by position desc limit 1')).rows[0].era_number;
    const bundle = await t.app.inject({ method: 'GET', url: `/v1/eras/${newest}/bundle`, headers: bearer(operatorKey) });
    expect(bundle.json().chainDigest).toBe(heads.bundles.chainDigest);

    for (const [k, row] of audit.entries()) {
      const at = await get(`/v1/reports/heads/audit/${k + 1}`);
      expect(at.statusCode, at.body).toBe(200);
      expect(at.json()).toEqual({ position: k + 1, chainDigest: row.chain_digest });
    }
    for (const row of links) expect((await get(`/v1/reports/heads/bundles/${row.position}`)).json()).toEqual({ position: row.position, chainDigest: row.chain_digest });
  });

  it('answers 404 past a chain\'s end and 400 for a bad position or chain, as problems', async () => {
    const { audit } = (await get('/v1/reports/heads')).json();
    const past = await get(`/v1/reports/heads/audit/${audit.count + 1}`);
    expectProblem(past, 404);
    expect(past.json().detail).toMatch(new RegExp(`audit log chain holds ${audit.count} link`));
    expectProblem(await get('/v1/reports/heads/bundles/3'), 404);
    expectProblem(await get('/v1/reports/heads/audit/0'), 400);
    expectProblem(await get('/v1/reports/heads/audit/x'), 400);
    const chain = await get('/v1/reports/heads/ledger/1');
    expectProblem(chain, 400);
    expect(JSON.stringify(chain.json().errors)).toMatch(/bundles.*audit/);
  });

  it('is documented in OpenAPI', async () => {
    const paths = (await get('/docs/json')).json().paths;
    expect(paths['/v1/reports/heads'].get).toBeDefined();
    expect(paths['/v1/reports/heads/{chain}/{position}'].get).toBeDefined();
  });
});

describe('verify', () => {
  it('reconciles every payout and burn with the bundles: intact, the command line exits 0', async () => {
    const report = await verify();
    expect(report.ledger).toEqual({ eras: ERAS.length, unbundled: [], mismatches: [] });
    const done = await cli();
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout).toMatch(/ledger reconciled: the payouts and burns of 2 resolved era\(s\) match/);
  }, 60_000);

  it('names the era, the model and both figures when a payout is rewritten consistently in the ledger', async () => {
    const era = ERAS[0];
    const model = models[0];
    const { rows } = await sql(`select id, delta::text as delta from stake_entries where model_id = $1 and era_number = $2 and kind = 'payout'`, [model.id, era]);
    expect(rows).toHaveLength(1);
    const paid = rows[0].delta as string;
    expect(Number(paid)).toBeGreaterThan(0);
    // The entry and every later one of the model move together: every check and foreign key of the ledger holds.
    await rewritePayout(rows[0].id, '7');
    try {
      const forged = (await sql('select delta::text as delta from stake_entries where id = $1', [rows[0].id])).rows[0].delta as string;
      const report = await verify();
      // The chains themselves still hold: only the comparison with the bundle sees it.
      expect(report.bundles.break).toBeNull();
      expect(report.audit.break).toBeNull();
      expect(report.ledger.mismatches).toEqual([
        { era, model: model.name, problem: `the ledger paid ${forged} but the bundle's payout is ${paid}` },
        { era, model: null, problem: expect.stringMatching(/^the ledger's settlement total is \S+ but the bundle's payouts sum to \S+$/) },
        { era, model: null, problem: expect.stringMatching(/^the ledger's settlement total is \S+ but the era's resolution recorded \S+ in the audit log$/) },
      ]);
      const done = await cli();
      expect(done.code).toBe(1);
      expect(done.stdout).toContain(`era ${era}, model ${model.name}: the ledger paid ${forged} but the bundle's payout is ${paid}`);
    } finally {
      await rewritePayout(rows[0].id, '-7');
    }
    expect((await verify()).ledger.mismatches).toEqual([]);
  }, 60_000);

  it('--heads: exits 1 naming the audit chain once its newest entry is removed, which the chain walk alone cannot see', async () => {
    // A reader saved the heads; the service went on (one more audited action): still extended.
    const saved = scratchFile('heads.json', (await get('/v1/reports/heads')).rawPayload);
    await createAccount(t.app, 'author');
    const extended = await cli('--heads', saved);
    expect(extended.code, extended.stdout + extended.stderr).toBe(0);
    expect(extended.stdout).toMatch(/both chains extend the saved heads/);

    const kept = (await get('/v1/reports/heads')).json();
    const keptFile = scratchFile('heads.json', JSON.stringify(kept));
    const [newest] = (await sql('select id, row_to_json(a)::text as row from audit_log a order by id desc limit 1')).rows;
    await asReplica([['delete from audit_log where id = $1', [newest.id]]]);
    try {
      expect((await verify()).audit.break).toBeNull();
      const removed = await cli('--heads', keptFile);
      expect(removed.code).toBe(1);
      expect(removed.stdout).toMatch(/HISTORY REWRITTEN: the audit log chain \(audit\) does not extend the saved head: it holds \d+ link\(s\) where the saved head had \d+/);
      expect(removed.stdout).not.toMatch(/\(bundles\) does not extend/);

      // Written again by the service: as many entries as saved, but another digest at the saved position.
      await createAccount(t.app, 'author');
      expect((await verify()).audit.break).toBeNull();
      const rewritten = await cli('--heads', keptFile);
      expect(rewritten.code).toBe(1);
      expect(rewritten.stdout).toContain(`the audit log chain (audit) does not extend the saved head: its link ${kept.audit.count} has chain digest`);
    } finally {
      await asReplica([['delete from audit_log where id > $1', [newest.id]]]);
      await asReplica([[`insert into audit_log select * from json_populate_record(null::audit_log, $1)`, [newest.row]]]);
    }
    expect((await cli('--heads', keptFile)).code).toBe(0);
  }, 120_000);

  it('--heads: a file that is not an answer of /v1/reports/heads is a usage error naming what is wrong', async () => {
    const file = scratchFile('bad.json', '{"bundles": {"count": 1, "chainDigest": "abc"}}');
    const done = await cli('--heads', file);
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/not an answer of GET \/v1\/reports\/heads/);
    expect(done.stderr).toMatch(/bundles\.chainDigest/);
    expect(done.stderr).toMatch(/audit/);
    writeFileSync(file, 'not json');
    expect((await cli('--heads', file)).stderr).toMatch(/not JSON/);
  }, 60_000);
});
