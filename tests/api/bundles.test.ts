import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlesService } from '../../src/services/bundles.js';
import { auditService } from '../../src/services/audit.js';
import { erasService } from '../../src/services/eras.js';
import { verifyService, type VerifyReport } from '../../src/services/verify.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, startReplica, type TestApp } from '../support/app.js';
import { recompute, recomputeMany, run, scratchFile } from '../support/bundles.js';
import { createModel, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra, metaModel } from '../support/metamodel.js';
import { PAB_POLICY, policyUniverse, putUniverseRows } from '../support/policies.js';

/*
 * A random tournament driven through the API: three eras (the first without a policy, the
 * others under an exclusion policy), models of two authors with random stakes, ties and partial
 * coverage, a late submission, two targets with gaps. Each resolved era's bundle is checked by
 * the authors' Python script (standard library only: its own JCS, ranks and Φ⁻¹) and the
 * database behind it is tampered with, one table at a time, under `verify`.
 */

interface Bundle {
  era: number;
  mainTarget: string;
  policy: { name: string; version: number; sha256: string } | null;
  payout: { corrMultiplier: number; mmcMultiplier: number; clip: number; stakeThreshold: number };
  payoutFactor: number;
  totalAtRisk: string;
  ids: string[];
  value: (number | null)[];
  unconstrained: (number | null)[];
  targets: Record<string, (number | null)[]>;
  models: { model: string; stake: string; submissionSha256: string; corr: number | null; mmc: number | null; payout: string | null }[];
  digest: string;
  chainDigest: string;
  previousChainDigest: string;
}

const ERAS = [31, 32, 33] as const;
const N = 60;
const HOUR = 3_600_000;
const random = rng(1818);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let t: TestApp;
let operatorKey: string;
const authorKeys: string[] = [];
const models: { id: string; name: string; author: number; stake: string | null }[] = [];
/** era → model name → the CSV uploaded on time, and its digest as the upload answered */
const uploads = new Map<number, Map<string, { csv: string; sha256: string }>>();
const bodies = new Map<number, Buffer>();
let policyId: string;

const bundleOf = (era: number) => JSON.parse(bodies.get(era)!.toString('utf8')) as Bundle;
const getBundle = (app: TestApp['app'], era: number, key = authorKeys[0]) => app.inject({ method: 'GET', url: `/v1/eras/${era}/bundle`, headers: bearer(key) });
const resolve = (app: TestApp['app'], era: number) => app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) });

async function putTarget(era: number, name: string, ids: string[], values: (number | undefined)[]) {
  const lines = ids.flatMap((id, i) => (values[i] === undefined ? [] : [`${id},${values[i]}`]));
  const res = await t.app.inject({
    method: 'PUT',
    url: `/v1/eras/${era}/targets/${name}`,
    headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
    payload: `id,target\n${lines.join('\n')}\n`,
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function setUpEra(era: number) {
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/eras',
    headers: bearer(operatorKey),
    payload: { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString(), minCoverage: 0.9 },
  });
  expect(created.statusCode, created.body).toBe(201);
  const rows = policyUniverse(N, `e${era}_`);
  await putUniverseRows(t.app, era, rows);
  const ids = rows.map((r) => r.id);
  const byModel = new Map<string, { csv: string; sha256: string }>();
  for (const [k, model] of models.entries()) {
    // Ties (two decimals) for some, and one model leaves out 10 % of the ids.
    const covered = k === 2 ? ids.slice(0, Math.floor(N * 0.9)) : ids;
    const values = covered.map(() => (k % 2 === 0 ? Math.round(random() * 100) / 100 : Math.round(random() * 1e9) / 1e9));
    const csv = predictionsCsv(covered, values);
    const res = await submitCsv(t.app, authorKeys[model.author], model.id, era, csv);
    expect(res.statusCode, res.body).toBe(201);
    byModel.set(model.name, { csv, sha256: res.json().sha256 });
  }
  uploads.set(era, byModel);
  await closeEra(t.app, era, operatorKey);
  // A late submission is scored but neither at risk nor in the bundle.
  const late = await submitCsv(t.app, authorKeys[0], models[0].id, era, predictionsCsv(ids, ids.map(() => random())));
  expect(late.json().late).toBe(true);
  // Main target in five bins with a few ids missing; a second target anywhere in [0, 1].
  await putTarget(era, 'target', ids, ids.map((_, i) => (i % 17 === 3 ? undefined : [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)])));
  await putTarget(era, 'cyrus', ids, ids.map(() => random()));
}

async function activatePolicy() {
  const created = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: PAB_POLICY });
  expect(created.statusCode, created.body).toBe(201);
  policyId = created.json().id;
  const checker = (await createAccount(t.app, 'admin')).apiKey;
  const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${policyId}/activate`, headers: bearer(checker), payload: { reason: 'bundle test' } });
  expect(activated.statusCode, activated.body).toBe(200);
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  for (let a = 0; a < 2; a++) authorKeys.push((await createAccount(t.app, 'author')).apiKey);
  for (let k = 0; k < 7; k++) {
    // Stakes with cents; the last model stakes nothing and is never at risk.
    const stake = k === 6 ? null : (10 + Math.floor(random() * 50_000) / 100).toFixed(2);
    const model = await createModel(t.app, authorKeys[k % 2], `bundle_model_${k}`, stake ?? undefined);
    models.push({ id: model.id, name: model.name, author: k % 2, stake });
  }
  await setUpEra(31);
  await activatePolicy();
  await setUpEra(32);
  await setUpEra(33);
}, 120_000);
afterAll(async () => t?.close());

describe('era bundles', () => {
  it('exist once an era resolves: 409 before, 404 for an unknown era, 401 without a key', async () => {
    expectProblem(await getBundle(t.app, 31), 409);
    expectProblem(await getBundle(t.app, 999), 404);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras/31/bundle' }), 401);
    const report = await t.app.inject({ method: 'GET', url: '/v1/reports/eras/31' });
    expect(report.json().chainDigest).toBeNull();
  });

  it('are sealed exactly once, chained in the order eras resolve, across racing replicas', async () => {
    const replica = await startReplica(t, { scheduler: false });
    try {
      expect((await resolve(t.app, 32)).statusCode).toBe(200);
      // Two eras at once on two replicas, and the same era twice: one bundle each, one chain.
      const raced = await Promise.all([resolve(t.app, 33), resolve(replica.app, 31), resolve(replica.app, 33), resolve(t.app, 31)]);
      for (const res of raced) expect(res.statusCode, res.body).toBe(200);
      for (const era of ERAS) {
        const [mine, theirs, again] = await Promise.all([getBundle(t.app, era), getBundle(replica.app, era, operatorKey), getBundle(t.app, era, ADMIN_KEY)]);
        expect(mine.statusCode, mine.body).toBe(200);
        expect(mine.headers['content-type']).toMatch(/^application\/json/);
        expect(theirs.rawPayload.equals(mine.rawPayload)).toBe(true);
        expect(again.rawPayload.equals(mine.rawPayload)).toBe(true);
        bodies.set(era, mine.rawPayload);
      }
    } finally {
      await replica.close();
    }
    const { rows } = await t.database.pool.query<{ era_number: number; position: number }>('select era_number, position from era_bundles order by position');
    expect(rows.map((r) => r.position)).toEqual([1, 2, 3]);
    expect(rows[0].era_number).toBe(32);
    // Each link follows the one resolved before it; the first follows 64 zeros.
    const order = rows.map((r) => bundleOf(r.era_number));
    expect(order[0].previousChainDigest).toBe('0'.repeat(64));
    for (let i = 1; i < order.length; i++) expect(order[i].previousChainDigest).toBe(order[i - 1].chainDigest);
    for (const b of order) expect(b.chainDigest).toBe(sha256(b.previousChainDigest + b.digest));
  });

  it('are the canonical JSON of what the era published, and the public reports carry their chain digests', async () => {
    const policy = (await t.app.inject({ method: 'GET', url: `/v1/policies/${policyId}`, headers: bearer(ADMIN_KEY) })).json();
    const summary = (await t.app.inject({ method: 'GET', url: '/v1/reports/summary' })).json();
    for (const era of ERAS) {
      const text = bodies.get(era)!.toString('utf8');
      expect(canonicalize(JSON.parse(text))).toBe(text);
      const bundle = bundleOf(era);
      const { digest, chainDigest, previousChainDigest, ...content } = bundle;
      expect(digest).toBe(sha256(canonicalize(content)!));
      expect(chainDigest).toBe(sha256(previousChainDigest + digest));

      // What the operator's routes served, field by field.
      const served = await metaModel(t.app, era, operatorKey);
      expect(bundle.ids).toEqual(served.rows.map((r) => r.id));
      expect(bundle.value).toEqual(served.rows.map((r) => r.value));
      expect(bundle.unconstrained).toEqual(served.rows.map((r) => r.unconstrained));
      // The policy excludes ids from era 32 on: their value is null.
      expect(bundle.value.some((v) => v === null)).toBe(era !== 31);
      expect(bundle.policy).toEqual(era === 31 ? null : { name: 'pab-core', version: 1, sha256: sha256(canonicalize(policy.document)!) });
      expect(Object.keys(bundle.targets).sort()).toEqual(['cyrus', 'target']);
      expect(bundle.targets.target.filter((v) => v === null)).toHaveLength(bundle.ids.filter((_, i) => i % 17 === 3).length);
      const staked = models.filter((m) => m.stake !== null).sort((a, b) => a.name.localeCompare(b.name));
      expect(bundle.models.map((m) => [m.model, m.stake, m.submissionSha256])).toEqual(
        staked.map((m) => [m.name, m.stake, uploads.get(era)!.get(m.name)!.sha256]),
      );
      const total = staked.reduce((sum, m) => sum + BigInt(m.stake!.replace('.', '')), 0n);
      expect(bundle.totalAtRisk).toBe((Number(total) / 100).toString());
      expect(bundle.payoutFactor).toBe(Math.min(1, 72000 / Number(bundle.totalAtRisk)));
      const scores = (await t.app.inject({ method: 'GET', url: `/v1/eras/${era}/scores`, headers: bearer(operatorKey) })).json().scores as {
        modelId: string;
        late: boolean;
        corr: number | null;
        mmc: number | null;
        payout: string | null;
      }[];
      for (const m of bundle.models) {
        const id = models.find((x) => x.name === m.model)!.id;
        const score = scores.find((s) => s.modelId === id && !s.late)!;
        expect([m.corr, m.mmc, m.payout]).toEqual([score.corr, score.mmc, score.payout]);
      }

      expect((await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` })).json().chainDigest).toBe(chainDigest);
      expect(summary.eras.find((p: { era: number }) => p.era === era).chainDigest).toBe(chainDigest);
    }
  });

  it("let every author recompute their model's CORR, MMC and payout with the Python script, to 1e-12", async () => {
    const cases = ERAS.flatMap((era) => {
      const bundle = scratchFile(`bundle-${era}.json`, bodies.get(era)!);
      return bundleOf(era).models.map((entry) => ({ era, entry, bundle, predictions: scratchFile('predictions.csv', uploads.get(era)!.get(entry.model)!.csv), model: entry.model }));
    });
    const outcomes = await recomputeMany(cases);
    expect(outcomes).toHaveLength(cases.length);
    outcomes.forEach(({ code, result, stderr }, k) => {
      const { era, entry } = cases[k];
      const bundle = bundleOf(era);
      expect(code, stderr).toBe(0);
      expect(result!.ok).toBe(true);
      expect(result!.digest).toBe(bundle.digest);
      expect(result!.chainDigest).toBe(bundle.chainDigest);
      expect(result!.served).toEqual({ corr: entry.corr, mmc: entry.mmc, payout: entry.payout });
      for (const score of ['corr', 'mmc'] as const) {
        if (entry[score] === null) expect(result![score]).toBeNull();
        else expect(Math.abs(result![score]! - entry[score])).toBeLessThanOrEqual(1e-12);
      }
      // From the bundle alone: the served scores through the payout rule give the paid amount, exactly.
      expect(result!.checks.payoutFromServedScores).toBe(true);
      expect(Number(result!.payout)).toBeCloseTo(Number(entry.payout), 9);
    });
    // The partial model is scored (90 % coverage passes the 80 % overlap rule) and some model is paid or burned.
    expect(bundleOf(33).models.find((m) => m.model === 'bundle_model_2')!.corr).not.toBeNull();
    expect(ERAS.some((era) => bundleOf(era).models.some((m) => m.payout !== '0'))).toBe(true);
  }, 120_000);

  it('make the Python script exit non-zero on different predictions or an altered bundle, printing both values', async () => {
    const era = 32;
    const bundle = bundleOf(era);
    const name = bundle.models[1].model;
    const csv = uploads.get(era)!.get(name)!.csv;
    const bundleFile = scratchFile('bundle.json', bodies.get(era)!);
    const predictions = scratchFile('p.csv', csv);

    // Swap two predictions: the ranks move, so CORR does.
    const lines = csv.trim().split('\n');
    const [a, b] = [lines[1].split(','), lines[2].split(',')];
    lines[1] = `${a[0]},${b[1]}`;
    lines[2] = `${b[0]},${a[1]}`;
    const swapped = await recompute(bundleFile, scratchFile('swapped.csv', `${lines.join('\n')}\n`), name, false);
    expect(swapped.spawned.code).toBe(1);
    expect(swapped.spawned.stdout).toMatch(/^corr\s+\S+\s+\S+\s+MISMATCH$/m);
    expect(swapped.spawned.stdout).toMatch(/^digest\s+[0-9a-f]{64}\s+ok$/m);

    // A stake changed in the bundle no longer hashes to its digest.
    const altered = { ...bundle, models: bundle.models.map((m, i) => (i === 0 ? { ...m, stake: `${m.stake}1` } : m)) };
    const [clean, forged, unknown] = await recomputeMany([
      { bundle: bundleFile, predictions, model: name },
      { bundle: scratchFile('forged.json', JSON.stringify(altered)), predictions, model: name },
      { bundle: bundleFile, predictions, model: 'not_a_model' },
    ]);
    expect(clean.code).toBe(0);
    expect(forged.code).toBe(1);
    expect(forged.result!.checks).toMatchObject({ digest: false, corr: true, mmc: true });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not_a_model/);
  }, 120_000);
});

describe('verify', () => {
  const verify = () => {
    const db = t.database.db;
    const audit = auditService(db);
    const eras = erasService({ db, audit, config: t.config });
    return verifyService({ db, eras, bundles: bundlesService({ db, eras }) }).verify();
  };
  const sql = (text: string, values: unknown[] = []) => t.database.pool.query(text, values);
  /** Runs `change`, verifies, then `undo`; returns the report of the changed database. */
  async function tampered(change: () => Promise<unknown>, undo: () => Promise<unknown>): Promise<VerifyReport> {
    await change();
    try {
      return await verify();
    } finally {
      await undo();
    }
  }
  const position = async (era: number) => (await sql('select position from era_bundles where era_number = $1', [era])).rows[0].position as number;
  const closingRun = async (era: number) => (await sql('select id from meta_model_runs where era_number = $1 and seq = 1', [era])).rows[0].id as string;
  const modelIndex = (era: number, name: string) => bundleOf(era).models.findIndex((m) => m.model === name);

  it('finds both chains intact, and the command line says so with exit code 0', async () => {
    const report = await verify();
    const last = (await sql('select era_number from era_bundles where position = 3')).rows[0].era_number as number;
    expect(report.bundles).toEqual({ checked: 3, archived: 0, head: bundleOf(last).chainDigest, break: null });
    expect(report.audit.break).toBeNull();
    expect(report.audit.checked).toBeGreaterThan(10);
    const cli = await run('npx', ['tsx', 'src/cli.ts', 'verify'], { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/era bundle chain intact: 3 resolved era\(s\), head [0-9a-f]{64}/);
    expect(cli.stdout).toMatch(/audit log chain intact/);
  }, 120_000);

  it('reports a changed run value at its era and id, and the command line exits 1', async () => {
    const era = 31;
    const { rows } = await sql('select id, value from meta_model_runs where era_number = $1 order by seq desc limit 1', [era]);
    const original: Buffer = rows[0].value;
    const changed = Buffer.from(original);
    changed.writeDoubleLE(0.123456, 8 * 7);
    await sql('update meta_model_runs set value = $2 where id = $1', [rows[0].id, changed]);
    try {
      const report = await verify();
      expect(report.bundles.break).toMatchObject({ at: 'era 31', differences: { count: 1, first: [{ path: 'value[7]', recomputed: 0.123456 }] } });
      expect(report.bundles.checked).toBe((await position(era)) - 1);
      const cli = await run('npx', ['tsx', 'src/cli.ts', 'verify'], { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' });
      expect(cli.code).toBe(1);
      expect(cli.stdout).toMatch(/BROKEN era bundle chain at era 31: .*\n\s+value\[7\]: sealed [^,]+, database now 0\.123456/);
    } finally {
      await sql('update meta_model_runs set value = $2 where id = $1', [rows[0].id, original]);
    }
    expect((await verify()).bundles.break).toBeNull();
  }, 120_000);

  it("reports a changed score at its era and model", async () => {
    const era = 33;
    const name = models[3].name;
    // The model's submission's position in the era's score order, then its entry in each version's packed set.
    const { k } = (
      await sql(
        `select array_position(o.submission_ids, (select submission_id from run_inputs where run_id = $2 and model_id = $3))::int as k
         from score_orders o where o.era_number = $1`,
        [era, await closingRun(era), models[3].id],
      )
    ).rows[0];
    const where = `era_number = $1 and target = 'target'`;
    const args = [era, k];
    const { mmc } = (await sql(`select mmcs[$2] as mmc from score_sets where ${where} order by target_version desc limit 1`, args)).rows[0];
    const report = await tampered(
      () => sql(`update score_sets set mmcs[$2] = mmcs[$2] + 1e-9 where ${where}`, args),
      () => sql(`update score_sets set mmcs[$2] = $3 where ${where}`, [...args, mmc]),
    );
    expect(report.bundles.break?.at).toBe('era 33');
    expect(report.bundles.break?.differences?.first.map((d) => d.path)).toEqual([`models[${modelIndex(era, name)}].mmc`]);
    const payout = await tampered(
      () => sql(`update score_sets set payouts[$2] = payouts[$2] + 1 where ${where}`, args),
      () => sql(`update score_sets set payouts[$2] = payouts[$2] - 1 where ${where}`, args),
    );
    expect(payout.bundles.break?.differences?.first.map((d) => d.path)).toEqual([`models[${modelIndex(era, name)}].payout`]);
  });

  it('reports a changed at-risk stake at its era and model', async () => {
    const era = 32;
    const name = models[4].name;
    const args = [await closingRun(era), models[4].id];
    const report = await tampered(
      () => sql('update run_inputs set stake = stake + 1000 where run_id = $1 and model_id = $2', args),
      () => sql('update run_inputs set stake = stake - 1000 where run_id = $1 and model_id = $2', args),
    );
    expect(report.bundles.break?.at).toBe('era 32');
    const paths = report.bundles.break!.differences!.first.map((d) => d.path);
    expect(paths).toContain(`models[${modelIndex(era, name)}].stake`);
    expect(paths).toContain('totalAtRisk');
    expect(report.bundles.checked).toBe((await position(era)) - 1);
  });

  it('reports a changed target value', async () => {
    const { rows } = await sql(`select values from targets where era_number = 31 and name = 'cyrus'`);
    const changed = Buffer.from(rows[0].values as Buffer);
    changed.writeDoubleLE(0.5, 8 * 11);
    const report = await tampered(
      () => sql(`update targets set values = $1 where era_number = 31 and name = 'cyrus'`, [changed]),
      () => sql(`update targets set values = $1 where era_number = 31 and name = 'cyrus'`, [rows[0].values]),
    );
    expect(report.bundles.break?.differences?.first.map((d) => d.path)).toEqual(['targets.cyrus[11]']);
  });

  it('reports a rewritten stored bundle, digest or link', async () => {
    const era = 33;
    const unlocked = async (statement: string, values: unknown[]) => {
      await sql('alter table era_bundles disable trigger era_bundles_append_only');
      try {
        await sql(statement, values);
      } finally {
        await sql('alter table era_bundles enable trigger era_bundles_append_only');
      }
    };
    const original = bodies.get(era)!;
    const bundle = bundleOf(era);
    // A payout rewritten in the stored bytes, re-canonicalised and even re-digested: the link no longer holds.
    const forged = { ...bundle, models: bundle.models.map((m, i) => (i === 0 ? { ...m, payout: '1000' } : m)) };
    const { digest: _d, chainDigest: _c, previousChainDigest: _p, ...content } = forged;
    forged.digest = sha256(canonicalize(content)!);
    const report = await tampered(
      () => unlocked('update era_bundles set content = $2 where era_number = $1', [era, Buffer.from(canonicalize(forged)!)]),
      () => unlocked('update era_bundles set content = $2 where era_number = $1', [era, original]),
    );
    expect(report.bundles.break).toMatchObject({ at: 'era 33' });
    expect(report.bundles.break!.problem).toMatch(/is not the digest of its content/);
    const relinked = await tampered(
      () => unlocked('update era_bundles set previous_chain_digest = $2 where era_number = $1', [era, 'f'.repeat(64)]),
      () => unlocked('update era_bundles set previous_chain_digest = $2 where era_number = $1', [era, bundle.previousChainDigest]),
    );
    expect(relinked.bundles.break!.problem).toMatch(/chains from f{64}/);

    // The last link removed: the chain that is left holds, but its era is resolved without one.
    const [last] = (await sql('select * from era_bundles order by position desc limit 1')).rows;
    const removed = await tampered(
      () => unlocked('delete from era_bundles where era_number = $1', [last.era_number]),
      () =>
        sql('insert into era_bundles (era_number, position, content, digest, previous_chain_digest, chain_digest, created_at) values ($1, $2, $3, $4, $5, $6, $7)', [
          last.era_number, last.position, last.content, last.digest, last.previous_chain_digest, last.chain_digest, last.created_at,
        ]),
    );
    expect(removed.bundles).toMatchObject({ checked: 2, break: { at: `era ${last.era_number}` } });
    expect(removed.bundles.break!.problem).toMatch(/resolved but has no bundle/);
    expect((await verify()).bundles.break).toBeNull();
  });

  it('reports a changed or removed audit entry at that entry', async () => {
    const unlocked = async (statement: string, values: unknown[]) => {
      await sql('alter table audit_log disable trigger audit_log_append_only');
      try {
        await sql(statement, values);
      } finally {
        await sql('alter table audit_log enable trigger audit_log_append_only');
      }
    };
    const { rows } = await sql(`select *, at::text as at_text from audit_log where action = 'era.resolve' order by id limit 1`);
    const entry = rows[0];
    const changed = await tampered(
      () => unlocked(`update audit_log set details = jsonb_set(details, '{totalPayout}', '"0"') where id = $1`, [entry.id]),
      () => unlocked('update audit_log set details = $2 where id = $1', [entry.id, entry.details]),
    );
    expect(changed.audit.break).toMatchObject({ at: `audit entry ${entry.id}` });
    expect(changed.audit.break!.problem).toMatch(/content no longer matches its digest/);
    expect(changed.audit.checked).toBe(Number((await sql('select count(*) from audit_log where id < $1', [entry.id])).rows[0].count));
    expect(changed.bundles.break).toBeNull();

    const retimed = await tampered(
      () => unlocked(`update audit_log set at = at + interval '1 microsecond' where id = $1`, [entry.id]),
      () => unlocked(`update audit_log set at = at - interval '1 microsecond' where id = $1`, [entry.id]),
    );
    expect(retimed.audit.break?.at).toBe(`audit entry ${entry.id}`);

    // The actor's name and key are covered too, and so is the digest version (no downgrade to one that covers neither).
    expect(entry).toMatchObject({ digest_version: 2, actor_name: expect.any(String), key_id: expect.any(String) });
    for (const [column, value] of [['actor_name', 'someone else'], ['key_id', null], ['digest_version', 1]] as const) {
      const report = await tampered(
        () => unlocked(`update audit_log set ${column} = $2 where id = $1`, [entry.id, value]),
        () => unlocked(`update audit_log set ${column} = $2 where id = $1`, [entry.id, entry[column]]),
      );
      expect(report.audit.break, column).toMatchObject({ at: `audit entry ${entry.id}` });
      expect(report.audit.break!.problem).toMatch(/content no longer matches its digest/);
    }

    const next = (await sql('select min(id) as id from audit_log where id > $1', [entry.id])).rows[0].id;
    const removed = await tampered(
      () => unlocked('delete from audit_log where id = $1', [entry.id]),
      () =>
        sql(
          'insert into audit_log (id, at, actor_id, action, subject, reason, details, digest, chain_digest, actor_name, key_id, digest_version) ' +
            'values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
          [
            entry.id, entry.at_text, entry.actor_id, entry.action, entry.subject, entry.reason, entry.details, entry.digest, entry.chain_digest,
            entry.actor_name, entry.key_id, entry.digest_version,
          ],
        ),
    );
    expect(removed.audit.break).toMatchObject({ at: `audit entry ${next}` });
    expect(removed.audit.break!.problem).toMatch(/does not follow from the entry before it/);

    const forged = await tampered(
      () => sql(`insert into audit_log (action, subject) values ('era.resolve', 'era:31')`),
      () => unlocked('delete from audit_log where digest is null', []),
    );
    expect(forged.audit.break!.problem).toMatch(/carries no digest/);
    expect(await verify()).toMatchObject({ bundles: { break: null }, audit: { break: null } });
  });
});
