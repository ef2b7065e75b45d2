import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { call, ok, probePool, seedModels, uniquePredictions, universeBody, until } from '../support/e2e.js';
import { liveIds } from '../support/fixtures.js';
import { leaksIn } from '../support/security.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

const ADMIN = 'sw_e2e_faults_admin_key_0123456789abcdef';
const HOUR = 3_600_000;

const serverEnv = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  BOOTSTRAP_ADMIN_KEY: ADMIN,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '1000000',
  SCHEDULER_INTERVAL_MS: '200',
});

/** kill -9: no shutdown hook runs, in-flight transactions are cut off where they are. */
async function killHard(server: ServerProcess) {
  server.child.kill('SIGKILL');
  await server.exited;
}

describe('kill -9 and restart', () => {
  let database: TestDatabase;
  let probe: pg.Pool;
  const servers: ServerProcess[] = [];
  const start = async () => {
    const server = await spawnServer(serverEnv(database.url));
    servers.push(server);
    return server;
  };

  /** The service's own connections to this database: after a kill, the orphaned backends until Postgres reaps them. */
  const serviceBackends = async () =>
    (
      await probe.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and application_name = 'stakeweight'`)
    ).rows;

  const describeBackends = async () =>
    JSON.stringify(
      (
        await probe.query(
          `select pid, state, wait_event_type, wait_event, backend_xid, left(query, 120) as query from pg_stat_activity where datname = current_database()`,
        )
      ).rows,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    probe = probePool(database.url);
  });
  const holders: pg.Client[] = [];
  /** A test that failed half-way may leave its server or lock running; the next one starts from none. */
  const killLeftovers = async () => {
    for (const holder of holders.splice(0)) await holder.end().catch(() => {});
    for (const server of servers.splice(0)) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
  };
  beforeEach(async () => {
    await killLeftovers();
    await until('leftover backends to end', async () => (await serviceBackends()).length === 0, 30_000, 100, describeBackends);
  });
  afterAll(async () => {
    await killLeftovers();
    await probe.end();
    await database.drop();
  });

  it('in the middle of ingestion loses no acknowledged submission', async () => {
    const first = await start();
    const operator = (await ok<{ apiKey: string }>(first.url, 'POST', '/v1/accounts', ADMIN, { name: 'ingest-operator', role: 'operator' })).apiKey;
    const ids = liveIds(500, 'ki');
    await ok(first.url, 'POST', '/v1/eras', operator, { number: 1, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() });
    await ok(first.url, 'PUT', '/v1/eras/1/universe', operator, universeBody(ids));
    const authors = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const { apiKey } = await ok<{ apiKey: string }>(first.url, 'POST', '/v1/accounts', ADMIN, { name: `ingest-author-${i}`, role: 'author' });
        const model = await ok<{ id: string }>(first.url, 'POST', '/v1/models', apiKey, { name: `ingest_${i}` });
        return { key: apiKey, modelId: model.id };
      }),
    );

    // Closed-loop submitters; each stops at its first failed request (the server is gone).
    const acks: { id: string; sha256: string; modelId: string }[] = [];
    let inFlight = 0;
    let refused = 0;
    const deadline = Date.now() + 30_000;
    const workers = authors.map(async ({ key, modelId }, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        inFlight++;
        const res = await call<{ id: string; sha256: string }>(first.url, 'POST', `/v1/models/${modelId}/submissions?era=1`, key, uniquePredictions(ids, w * 10_000 + i, w)).catch(
          () => null,
        );
        inFlight--;
        if (res === null) return;
        if (res.status === 201) acks.push({ id: res.json.id, sha256: res.json.sha256, modelId });
        else refused++;
      }
    });
    await until('100 acknowledged submissions', async () => acks.length >= 100, 30_000, 5);
    const inFlightAtKill = inFlight;
    await killHard(first);
    await Promise.all(workers);

    expect(refused).toBe(0);
    // The kill landed on requests being served, not on an idle server.
    expect(inFlightAtKill).toBeGreaterThan(0);

    // Before any restart: every acknowledged submission is in the database, with its digest.
    const stored = await probe.query<{ id: string; sha256: string; model_id: string; superseded: boolean }>(
      'select id, sha256, model_id, superseded from submissions where era_number = 1',
    );
    const byId = new Map(stored.rows.map((r) => [r.id, r]));
    expect(acks.filter((a) => byId.get(a.id)?.sha256 !== a.sha256 || byId.get(a.id)?.model_id !== a.modelId)).toEqual([]);
    // Anything stored beyond the acknowledged is a request the kill cut off before its answer: at most one per submitter.
    expect(stored.rows.length - acks.length).toBeGreaterThanOrEqual(0);
    expect(stored.rows.length - acks.length).toBeLessThanOrEqual(authors.length);
    const current = await probe.query<{ n: number }>(
      `select count(*)::int as n from submissions where era_number = 1 and not superseded group by model_id, late having count(*) > 1`,
    );
    expect(current.rows).toEqual([]);

    // After a restart on the same database the service serves every one of them, and takes new ones.
    const second = await start();
    for (const { key, modelId } of authors) {
      const listed = await ok<{ submissions: { id: string; sha256: string }[] }>(second.url, 'GET', `/v1/models/${modelId}/submissions`, key);
      const mine = new Set(listed.submissions.map((s) => s.id));
      expect(acks.filter((a) => a.modelId === modelId && !mine.has(a.id))).toEqual([]);
    }
    const again = await call(second.url, 'POST', `/v1/models/${authors[0].modelId}/submissions?era=1`, authors[0].key, uniquePredictions(ids, 999_999, 0));
    expect(again.status).toBe(201);
    expect(await second.stop()).toBe(0);
  });

  it('in the middle of a close or a recompute leaves no partial run, and the era ends closed with exactly one run', async () => {
    const server = await start();
    const operator = (await ok<{ apiKey: string }>(server.url, 'POST', '/v1/accounts', ADMIN, { name: 'close-operator', role: 'operator' })).apiKey;
    const ids = liveIds(2000, 'kc');
    const era = 2;
    // closesAt passes while the service is down, so the restarted scheduler has a due era to finish.
    await ok(server.url, 'POST', '/v1/eras', operator, { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + 4_000).toISOString() });
    await ok(server.url, 'PUT', `/v1/eras/${era}/universe`, operator, universeBody(ids));
    const MODELS = 300;
    await seedModels(probe, era, ids, MODELS, 7);

    /**
     * Holds a lock the close (or recompute) needs for its last write, the audit entry, so the
     * kill lands inside its transaction every time, after the run row, its inputs and its
     * vectors are written and before the commit.
     */
    async function blockBeforeCommit(trigger: () => Promise<unknown>) {
      const holder = new pg.Client({ connectionString: database.url, application_name: 'stakeweight-e2e-lock' });
      // Dropping the database at the end terminates it; that is not an error of the test.
      holder.on('error', () => {});
      holders.push(holder);
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table audit_log in share row exclusive mode');
      const request = trigger().catch(() => null);
      await until(
        'the service to block on the audit_log lock',
        async () =>
          (
            await probe.query<{ pid: number }>(
              `select pid from pg_stat_activity
               where datname = current_database() and application_name = 'stakeweight' and wait_event_type = 'Lock' and query ilike '%audit_log%'`,
            )
          ).rows[0],
        30_000,
        50,
        async () => `${await describeBackends()}\nrequest: ${JSON.stringify(await Promise.race([request, new Promise((r) => setTimeout(() => r('still pending'), 10))]))}`,
      );
      return { holder, request };
    }

    async function runsInDatabase() {
      const { rows } = await probe.query<{ seq: number; trigger: string; models: number }>(
        'select seq, trigger, models from meta_model_runs where era_number = $1 order by seq',
        [era],
      );
      return rows;
    }

    // ---- kill -9 inside the close
    const close = await blockBeforeCommit(() => call(server.url, 'POST', `/v1/eras/${era}/close`, operator));
    // While the close is stuck before its commit, nothing of it can be seen, neither through the API nor in the database.
    expect((await ok<{ runs: unknown[] }>(server.url, 'GET', `/v1/eras/${era}/meta-model/runs`, operator)).runs).toEqual([]);
    expect((await call(server.url, 'GET', `/v1/eras/${era}/meta-model`, operator)).status).toBe(404);
    await killHard(server);
    expect(await runsInDatabase()).toEqual([]);
    await close.holder.query('rollback');
    await close.holder.end();
    await close.request;
    // Postgres notices the dead client and rolls the close back; wait for every orphaned backend to go.
    await until('the killed service’s backends to end', async () => (await serviceBackends()).length === 0, 30_000, 100, describeBackends);
    expect(await runsInDatabase()).toEqual([]);
    const afterKill = await probe.query<{ closed_at: Date | null }>('select closed_at from eras where number = $1', [era]);
    expect(afterKill.rows[0].closed_at).toBeNull();
    expect((await probe.query(`select 1 from run_inputs ri join meta_model_runs r on r.id = ri.run_id where r.era_number = $1`, [era])).rowCount).toBe(0);

    // The restarted service's scheduler finds the era due and closes it, once.
    const restarted = await start();
    await until(
      'the scheduler to close the era',
      async () => (await probe.query('select 1 from eras where number = $1 and closed_at is not null', [era])).rowCount === 1,
      60_000,
      200,
    );
    const retried = await ok<{ run: { id: string; seq: number; models: number } }>(restarted.url, 'POST', `/v1/eras/${era}/close`, operator);
    expect(retried.run).toMatchObject({ seq: 1, models: MODELS });
    expect(await runsInDatabase()).toEqual([{ seq: 1, trigger: 'close', models: MODELS }]);
    const closeAudits = await probe.query(`select 1 from audit_log where action = 'era.close' and subject = $1`, [`era:${era}`]);
    expect(closeAudits.rowCount).toBe(1);
    const served = await ok<{ run: { id: string }; rows: unknown[] }>(restarted.url, 'GET', `/v1/eras/${era}/meta-model`, operator);
    expect(served.run.id).toBe(retried.run.id);
    expect(served.rows).toHaveLength(ids.length);

    // ---- kill -9 inside a recompute
    const recompute = await blockBeforeCommit(() => call(restarted.url, 'POST', `/v1/eras/${era}/meta-model/compute`, operator));
    expect((await ok<{ runs: { seq: number }[] }>(restarted.url, 'GET', `/v1/eras/${era}/meta-model/runs`, operator)).runs.map((r) => r.seq)).toEqual([1]);
    await killHard(restarted);
    await recompute.holder.query('rollback');
    await recompute.holder.end();
    await recompute.request;
    await until('the killed service’s backends to end', async () => (await serviceBackends()).length === 0, 30_000, 100, describeBackends);
    expect(await runsInDatabase()).toEqual([{ seq: 1, trigger: 'close', models: MODELS }]);

    // The next recompute is run 2: the cut-off one left no gap, no half-written row.
    const last = await start();
    const run = await ok<{ seq: number; models: number }>(last.url, 'POST', `/v1/eras/${era}/meta-model/compute`, operator);
    expect(run).toMatchObject({ seq: 2, models: MODELS });
    expect((await runsInDatabase()).map((r) => [r.seq, r.trigger])).toEqual([
      [1, 'close'],
      [2, 'recompute'],
    ]);
    expect(await last.stop()).toBe(0);
  });
});

describe('the database restarting under a running service', () => {
  let dir: string;
  let postgres: EmbeddedDatabase | undefined;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stakeweight-e2e-restart-'));
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop('SIGKILL');
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns readiness red and answers a clean 503 while it is away, then recovers without a restart', async () => {
    postgres = await startEmbeddedPostgres(dir, { persistent: true });
    const port = Number(new URL(postgres.url).port);
    server = await spawnServer(serverEnv(postgres.url), { timeoutMs: 90_000 });
    const author = await ok<{ apiKey: string }>(server.url, 'POST', '/v1/accounts', ADMIN, { name: 'restart-author', role: 'author' });
    expect((await call(server.url, 'POST', '/v1/models', author.apiKey, { name: 'before_restart' })).status).toBe(201);

    await postgres.stop();
    postgres = undefined;

    const ready = await until(
      'readiness to go red',
      async () => {
        const res = await call(server!.url, 'GET', '/readyz');
        return res.status === 503 ? res : null;
      },
      30_000,
      100,
      async () => `server (exit code ${server!.child.exitCode}):\n${server!.output().slice(-4000)}`,
    );
    expect(ready.type).toMatch(/^application\/problem\+json/);
    // The process is up, says so, and answers every request with a clean 503, no internals.
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
    const attempts = [
      await call(server.url, 'GET', '/v1/me', author.apiKey),
      await call(server.url, 'POST', '/v1/models', author.apiKey, { name: 'while_down' }),
      await call(server.url, 'GET', '/v1/eras', ADMIN),
      await call(server.url, 'GET', '/v1/policies/active'),
    ];
    for (const res of attempts) {
      expect(res.status, res.text).toBe(503);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ status: 503, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
      expect(leaksIn(res.text)).toEqual([]);
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|5432|postgres/i);
    }
    expect(server.child.exitCode).toBeNull();

    // Same data directory, same port: the service's pool reconnects by itself.
    postgres = await startEmbeddedPostgres(dir, { persistent: true, port });
    await until('readiness to go green', async () => (await call(server!.url, 'GET', '/readyz')).status === 200, 30_000, 200);
    expect((await call(server.url, 'GET', '/v1/me', author.apiKey)).status).toBe(200);
    expect((await call(server.url, 'POST', '/v1/models', author.apiKey, { name: 'after_restart' })).status).toBe(201);
    const models = await ok<{ models: { name: string }[] }>(server.url, 'GET', '/v1/models', author.apiKey);
    expect(models.models.map((m) => m.name).sort()).toEqual(['after_restart', 'before_restart']);
    expect(server.output()).not.toContain(ADMIN);
    expect(await server.stop()).toBe(0);
    server = undefined;
  });
});
