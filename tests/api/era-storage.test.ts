import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { binaryCopyParser } from '../../src/db/copy-binary.js';
import { isLockNotAvailable } from '../../src/db/errors.js';
import { ensureEraPartitions, fitStoreSubmissionPlans } from '../../src/db/partitions.js';
import { archiveService } from '../../src/services/archive.js';
import { auditService } from '../../src/services/audit.js';
import { bundlesService } from '../../src/services/bundles.js';
import { erasService } from '../../src/services/eras.js';
import { makeEraPartitions, retentionService } from '../../src/services/retention.js';
import { describeReport, verifyService } from '../../src/services/verify.js';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { run } from '../support/bundles.js';
import { createModel, liveIds, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';

/*
 * Submissions and run inputs partitioned by era (migration 0021), retention of raw values and the
 * archive, over HTTP on a real database: four eras, the first three resolved, each with a model
 * that re-submitted (one superseded submission per era); RETAIN_SUBMISSIONS_ERAS = 1.
 */

const ERAS = [11, 12, 13, 14] as const;
const RESOLVED = [11, 12, 13];
const N = 40;
const random = rng(2701);

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const models: { id: string; name: string }[] = [];

/** The permission bits of a file the archive wrote. */
const fileMode = (dir: string, file: string) => statSync(path.join(dir, file)).mode & 0o777;
const sql = <R extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []) => t.database.pool.query<R>(text, values).then((r) => r.rows);
const verify = () => {
  const db = t.database.db;
  const eras = erasService({ db, audit: auditService(db), config: t.config });
  return verifyService({ db, eras, bundles: bundlesService({ db, eras }) }).verify();
};
/** Per era: [current with raw, current without, superseded with raw, superseded without]. */
const rawState = async () =>
  sql<{ era: number; state: number[] }>(`
    select era_number as era, array[count(*) filter (where not superseded and raw is not null), count(*) filter (where not superseded and raw is null),
                                    count(*) filter (where superseded and raw is not null), count(*) filter (where superseded and raw is null)]::int[] as state
    from submissions group by era_number order by era_number`);

/** Whether store_submission runs with generic plans (migration 0026). */
const genericPlans = async () =>
  (
    await sql<{ generic: boolean }>(`
      select coalesce('plan_cache_mode=force_generic_plan' = any (proconfig), false) as generic from pg_proc
      where oid = 'store_submission(uuid, integer, uuid, text, integer, integer, bytea, text, bytea, text)'::regprocedure`)
  )[0].generic;
const partitionCount = async () => (await sql<{ n: number }>(`select count(*)::int as n from pg_inherits where inhparent = 'submissions'::regclass`))[0].n;
/** Makes far-off eras' partitions, as the service makes them, until submissions has `count`; returns those eras. */
async function partitionsUpTo(count: number): Promise<number[]> {
  const have = await partitionCount();
  const eras = Array.from({ length: count - have }, (_, k) => 5000 + have + k);
  expect(await t.database.db.transaction((tx) => ensureEraPartitions(tx, eras))).toBe(2 * eras.length);
  expect(await partitionCount()).toBe(count);
  return eras;
}
/** Takes far-off eras' partitions away (a partition of submissions is detached first: the DEFAULT partition's key references the parent). */
async function dropPartitions(eras: readonly number[]) {
  for (const era of eras) {
    await sql(`drop table run_inputs_e${era}`);
    await sql(`alter table submissions detach partition submissions_e${era}`);
    await sql(`drop table submissions_e${era}`);
  }
}

beforeAll(async () => {
  t = await createTestApp({ RETAIN_SUBMISSIONS_ERAS: '1' });
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (let k = 0; k < 3; k++) models.push(await createModel(t.app, authorKey, `storage_model_${k}`, `${50 + 10 * k}`));
  for (const era of ERAS) {
    const ids = liveIds(N, `s${era}_`);
    const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: era, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    for (const model of models) {
      const res = await submitCsv(t.app, authorKey, model.id, era, predictionsCsv(ids, ids.map(() => random())));
      expect(res.statusCode, res.body).toBe(201);
    }
    // Model 0 changes its mind: its first submission is superseded.
    const again = await submitCsv(t.app, authorKey, models[0].id, era, predictionsCsv(ids, ids.map(() => random())));
    expect(again.statusCode, again.body).toBe(201);
    if (!RESOLVED.includes(era)) continue;
    await closeEra(t.app, era, operatorKey);
    const put = await t.app.inject({
      method: 'PUT',
      url: `/v1/eras/${era}/targets/target`,
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: predictionsCsv(ids, ids.map(() => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]), 'id,target'),
    });
    expect(put.statusCode, put.body).toBe(200);
    const resolved = await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) });
    expect(resolved.statusCode, resolved.body).toBe(200);
  }
}, 180_000);
afterAll(async () => t?.close());

describe('era partitions', () => {
  it('an era created over HTTP has its own partitions, and its submissions and run inputs are stored in them', async () => {
    const placed = await sql<{ era: number; partition: string; n: number }>(`
      select era_number as era, tableoid::regclass::text as partition, count(*)::int as n from submissions group by 1, 2
      union all select era_number, tableoid::regclass::text, count(*)::int from run_inputs group by 1, 2 order by 2`);
    expect(placed).toEqual([
      ...RESOLVED.map((era) => ({ era, partition: `run_inputs_e${era}`, n: 3 })),
      ...ERAS.map((era) => ({ era, partition: `submissions_e${era}`, n: 4 })),
    ]);
    // Made ahead: a pass makes the next eras' partitions before anyone creates those eras.
    expect(await retentionService({ db: t.database.db, config: t.config }).makePartitions()).toBe(6);
    const ahead = await sql<{ name: string }>(`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'submissions'::regclass and c.relname ~ '_e(15|16|17)$' order by 1`);
    expect(ahead.map((r) => r.name)).toEqual(['submissions_e15', 'submissions_e16', 'submissions_e17']);
  });

  it('two instances making the same eras\' partitions at once never fail, and each era gets one partition per table', async () => {
    const other = connect(t.database.url, { max: 4 });
    try {
      const eras = [30, 31, 32, 33, 34];
      const attempts = [t.database.db, other.db, t.database.db, other.db].map((db) => db.transaction((tx) => ensureEraPartitions(tx, eras)));
      const made = await Promise.all(attempts);
      expect(made.reduce((a, b) => a + b, 0)).toBe(eras.length * 2);
      const parts = await sql<{ n: number }>(`select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid where c.relname ~ '^(submissions|run_inputs)_e3[0-4]$'`);
      expect(parts[0].n).toBe(eras.length * 2);
    } finally {
      await other.pool.end();
    }
  });

  it('making a partition never waits for a table lock while it holds another: a reader of both tables is never caught in a deadlock', async () => {
    // A reader holds the DEFAULT partition of run_inputs, as a query over both tables does mid-way.
    const reader = await t.database.pool.connect();
    try {
      await reader.query('begin');
      await reader.query('lock table run_inputs_default in access share mode');
      let settled = false;
      const attempt = t.database.db
        .transaction((tx) => ensureEraPartitions(tx, [40]))
        .then(
          () => 'made',
          (error: unknown) => (isLockNotAvailable(error) ? 'refused at once' : error),
        )
        .finally(() => (settled = true));
      // Waiting here while holding submissions_default (as an attach made one table at a time
      // would) is what lets the reader's next read of submissions close a cycle.
      while (!settled) {
        const waiting = await sql<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
        if (waiting[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(settled ? await attempt : 'the maker waits for a lock').toBe('refused at once');
      // Nothing is held: the reader goes on to read submissions, then lets go.
      await reader.query('select count(*) from submissions');
      await reader.query('commit');
    } finally {
      reader.release();
    }
    // Tried again once the lock is free, as the service does (services/retention.ts).
    expect(await makeEraPartitions(t.database.db, [40])).toBe(2);
  });

  it('an era inserted around the service has no partition: its rows go to the DEFAULT partition, which the partition maker leaves alone', async () => {
    await sql(`insert into eras (number, opens_at, closes_at, main_target) values (90, now() - interval '1 hour', now() + interval '1 hour', 'target')`);
    const ids = liveIds(N, 'd90_');
    const universe = await t.app.inject({ method: 'PUT', url: '/v1/eras/90/universe', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    const res = await submitCsv(t.app, authorKey, models[1].id, 90, predictionsCsv(ids, ids.map(() => random())));
    expect(res.statusCode, res.body).toBe(201);
    expect(await sql(`select tableoid::regclass::text as partition from submissions where era_number = 90`)).toEqual([{ partition: 'submissions_default' }]);
    const pass = await retentionService({ db: t.database.db, config: t.config }).makePartitions();
    // run_inputs_e90 and both tables' partitions of the next three eras (91-93); not submissions_e90,
    // which the row in the default partition would not fit beside.
    expect(pass).toBe(7);
    expect(await sql(`select to_regclass('submissions_e90') is null as missing, to_regclass('run_inputs_e90') is not null as made`)).toEqual([{ missing: true, made: true }]);
  });

  it("run_inputs' key to submissions is kept per era partition, and still refuses an input naming no stored submission", async () => {
    // Each era's inputs are checked against that era's submissions table alone; the DEFAULT
    // partition, and an era whose submissions sit in the default (90), against the parent.
    const keys = await sql(`
      select conrelid::regclass::text as child, confrelid::regclass::text as parent from pg_constraint
      where contype = 'f' and conparentid = 0 and conrelid::regclass::text ~ '^run_inputs_(e11|e90|default)$'
        and confrelid::regclass::text ~ '^submissions' order by 1`);
    expect(keys).toEqual([
      { child: 'run_inputs_default', parent: 'submissions' },
      { child: 'run_inputs_e11', parent: 'submissions_e11' },
      { child: 'run_inputs_e90', parent: 'submissions' },
    ]);
    // None on the parent run_inputs: it would be checked through every partition of submissions.
    expect(await sql(`select count(*)::int as n from pg_constraint where conrelid = 'run_inputs'::regclass and confrelid = 'submissions'::regclass`)).toEqual([{ n: 0 }]);
    // A run of era 11 and a model it did not take, so only the key can refuse the row.
    const outsider = await createModel(t.app, authorKey, 'storage_outsider');
    const [input] = await sql<{ run_id: string; model_id: string; sha256: string }>(`select run_id, $1::uuid as model_id, sha256 from run_inputs where era_number = 11 limit 1`, [outsider.id]);
    // Era 11 (its own partitions), era 90 (run_inputs_e90 only) and era 97 (no partition: the default).
    for (const era of [11, 90, 97]) {
      const refused = await sql(
        `insert into run_inputs (run_id, model_id, submission_id, sha256, stake, era_number) values ($1, $2, gen_random_uuid(), $3, 1, $4)`,
        [input.run_id, input.model_id, input.sha256, era],
      ).then(
        () => 'stored',
        (error: { code?: string }) => error.code,
      );
      expect(refused, `era ${era}`).toBe('23503');
    }
  });

  it('store_submission takes generic plans up to 100 partitions of submissions and plans each call above: making and dropping partitions set it', async () => {
    const ids = liveIds(N, 's96_');
    const created = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: 96, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const universe = await t.app.inject({ method: 'PUT', url: '/v1/eras/96/universe', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: `id\n${ids.join('\n')}\n` });
    expect(universe.statusCode, universe.body).toBe(200);
    expect(await genericPlans()).toBe(true);

    const extra = await partitionsUpTo(101);
    expect(await genericPlans()).toBe(false);
    // Planned for each call, a submission is stored, and a second one supersedes it, as before.
    const shas: string[] = [];
    for (let k = 0; k < 2; k++) {
      const res = await submitCsv(t.app, authorKey, models[2].id, 96, predictionsCsv(ids, ids.map(() => random())));
      expect(res.statusCode, res.body).toBe(201);
      shas.push(res.json<{ sha256: string }>().sha256);
    }
    expect(await sql(`select sha256, superseded, tableoid::regclass::text as partition from submissions where era_number = 96 order by created_at`)).toEqual(
      shas.map((sha256, k) => ({ sha256, superseded: k === 0, partition: 'submissions_e96' })),
    );

    // Back to 100: generic again.
    await dropPartitions(extra.slice(0, 1));
    expect(await t.database.db.transaction((tx) => fitStoreSubmissionPlans(tx))).toBe(true);
    expect(await genericPlans()).toBe(true);
    await dropPartitions(extra.slice(1));
  }, 120_000);
});

describe('retention', () => {
  it('drops superseded values of resolved eras and current values past RETAIN_SUBMISSIONS_ERAS, keeping digests and rank codes, once', async () => {
    const before = await sql<{ id: string; sha256: string; ranks: string }>(`select id, sha256, md5(ranks) as ranks from submissions order by id`);
    expect((await rawState()).filter((r) => ERAS.includes(r.era as never))).toEqual(ERAS.map((era) => ({ era, state: [3, 0, 1, 0] })));
    const retention = retentionService({ db: t.database.db, config: t.config });
    const pass = await retention.pass();
    expect(pass.superseded).toEqual(RESOLVED.map((era) => ({ era, dropped: 1 })));
    // The latest resolved era (13) keeps its current values: RETAIN_SUBMISSIONS_ERAS = 1.
    expect(pass.expired).toEqual([11, 12].map((era) => ({ era, dropped: 3 })));
    expect([pass.compacted, pass.notCompacted]).toEqual([[], []]); // rewrites wait for a later pass
    expect((await rawState()).filter((r) => ERAS.includes(r.era as never))).toEqual([
      { era: 11, state: [0, 3, 0, 1] },
      { era: 12, state: [0, 3, 0, 1] },
      { era: 13, state: [3, 0, 0, 1] },
      { era: 14, state: [3, 0, 1, 0] },
    ]);
    expect(await sql(`select id, sha256, md5(ranks) as ranks from submissions order by id`)).toEqual(before);
    const again = await retention.pass({ compactAfterMs: 0 });
    expect([again.superseded, again.expired]).toEqual([[], []]);
    expect(again.compacted).toEqual(RESOLVED);
    expect(await sql(`select count(*)::int as n from era_storage where compacted_at is not null`)).toEqual([{ n: 3 }]);
    expect((await retention.pass({ compactAfterMs: 0 })).compacted).toEqual([]);
    const report = await verify();
    expect(report.bundles).toMatchObject({ checked: 3, break: null, archived: 0 });
    expect(report.ledger.mismatches).toEqual([]);
  });
});

describe('archive', () => {
  it('refuses while an era before N is unresolved, and touches nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sw-archive-'));
    try {
      const result = await run('npx', ['tsx', 'src/cli.ts', 'archive', '--before-era', '15', '--out', dir], { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/era 14 before 15 is not resolved/);
      expect(await sql(`select count(*)::int as n from era_storage where detached_at is not null`)).toEqual([{ n: 0 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('detaches, writes and drops resolved eras: rows in each file = rows detached, and verify still passes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sw-archive-'));
    try {
      const held = await sql<{ era: number; table: string; ids: string[] }>(`
        select era_number as era, 'submissions' as table, array_agg(id::text order by id) as ids from submissions where era_number in (11, 12) group by 1
        union all select era_number, 'run_inputs', array_agg(submission_id::text order by submission_id) from run_inputs where era_number in (11, 12) group by 1 order by 1, 2`);
      const ledger = await sql(`select count(*)::int as n, sum(delta)::text as total from stake_entries`);
      const scores = await sql(`select count(*)::int as n from scores`);
      const bundles = await sql(`select era_number, digest from era_bundles order by position`);
      // What clients read of the eras about to leave: a model's scores, an era's scores, a score's history.
      const reads = [
        [authorKey, `/v1/models/${models[0].id}/scores?limit=100`],
        [authorKey, `/v1/models/${models[1].id}/scores?era=11&target=target`],
        [operatorKey, '/v1/eras/11/scores?target=target'],
        [operatorKey, '/v1/eras/12/scores?target=target'],
      ] as const;
      const read = () => Promise.all(reads.map(async ([key, url]) => {
        const res = await t.app.inject({ method: 'GET', url, headers: bearer(key) });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        return res.json<unknown>();
      }));
      const before = await read();
      expect(JSON.stringify(before)).toMatch(/"era":11/);

      // Two partitions over the 100 up to which store_submission takes generic plans: detaching
      // eras 11 and 12 brings it back to 100, and generic plans.
      await partitionsUpTo(102);
      expect(await genericPlans()).toBe(false);

      const result = await archiveService({ db: t.database.db }).archive(13, dir);
      expect(result.eras).toEqual([11, 12]);
      expect([await partitionCount(), await genericPlans()]).toEqual([100, true]);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { era: number; table: string; file: string; rows: number; sha256: string }[];
      expect(manifest.map((m) => [m.era, m.table, m.rows])).toEqual(held.map((h) => [h.era, h.table, h.ids.length]));
      // Named as docs/operations.md says: <table>.era-<N>.pgcopy.
      expect(manifest.map((m) => m.file)).toEqual(held.map((h) => `${h.table}.era-${h.era}.pgcopy`));
      // Authors' predictions: the owner's alone.
      expect([fileMode(dir, 'manifest.json'), ...manifest.map((m) => fileMode(dir, m.file))]).toEqual([0o600, ...manifest.map(() => 0o600)]);
      for (const entry of manifest) {
        const bytes = readFileSync(path.join(dir, entry.file));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.sha256);
        // The file holds exactly the rows that were detached: their ids (the first column of
        // submissions, the third of run_inputs) read back from the binary COPY.
        const ids: string[] = [];
        binaryCopyParser((tuple) => {
          const hex = Buffer.from(tuple[entry.table === 'submissions' ? 0 : 2]!).toString('hex');
          ids.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
        })(bytes);
        expect(ids.sort()).toEqual(held.find((h) => h.era === entry.era && h.table === entry.table)!.ids);
      }
      expect(await sql(`select count(*)::int as n from submissions where era_number in (11, 12)`)).toEqual([{ n: 0 }]);
      expect(await sql(`select to_regclass('submissions_e11') is null and to_regclass('run_inputs_e12') is null as dropped`)).toEqual([{ dropped: true }]);
      // Ledger, scores and bundles untouched; verify passes and counts the archived eras.
      expect(await sql(`select count(*)::int as n, sum(delta)::text as total from stake_entries`)).toEqual(ledger);
      expect(await sql(`select count(*)::int as n from scores`)).toEqual(scores);
      expect(await sql(`select era_number, digest from era_bundles order by position`)).toEqual(bundles);
      // Their scores read the same without their submissions.
      expect(await read()).toEqual(before);
      // Their submission summary says they are archived rather than counting every model missing.
      const summary = await t.app.inject({ method: 'GET', url: '/v1/eras/11/submissions/summary', headers: bearer(operatorKey) });
      expect(summary.statusCode, summary.body).toBe(409);
      expect(summary.json<{ detail: string }>().detail).toMatch(/era 11 is archived/);
      const report = await verify();
      expect(report.bundles).toMatchObject({ checked: 3, break: null, archived: 2 });
      expect(report.ledger.mismatches).toEqual([]);
      expect(describeReport(report).join('\n')).toMatch(/2 era\(s\) archived/);
      // Again: nothing left to archive before 13; the manifest keeps both eras.
      expect((await archiveService({ db: t.database.db }).archive(13, dir)).eras).toEqual([]);
      expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toHaveLength(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('verify still recomputes an era that was not archived: a changed run input of era 13 is found', async () => {
    await sql(`update run_inputs set stake = stake + 1 where era_number = 13 and model_id = $1`, [models[2].id]);
    try {
      const report = await verify();
      expect(report.bundles.break?.at).toBe('era 13');
    } finally {
      await sql(`update run_inputs set stake = stake - 1 where era_number = 13 and model_id = $1`, [models[2].id]);
    }
  });
});
