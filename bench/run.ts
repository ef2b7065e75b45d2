/**
 * npm run bench [-- --models K --ids N --seconds S --concurrency C --full-precision --skip ingest,close,scoring,targets,resolve,leaderboard --webhooks --json]
 *
 * Builds its own data, starts the real service (src/server.ts) on a real PostgreSQL
 * (DATABASE_URL, or an embedded one) and measures the performance targets (BENCHMARKS.md): ingest over HTTP against a
 * bare parsing route, close → meta-model at K/10, K/2 and K models, scoring one target, scoring
 * 20 targets uploaded at once, and leaderboard/performance latency over K models × 60 resolved eras.
 * --webhooks: every seeded author account has a webhook for every event type, delivered to a
 * receiver on 127.0.0.1 while the phases run (close and resolution with and without webhooks).
 * Progress goes to stderr; the table (and with --json, one JSON line last) to stdout.
 *
 * npm run bench -- --history [--eras E --models K --ids N --targets T --versions V --churn C --json] [--keep-database]
 * runs bench/history.ts instead: a long tournament over HTTP (defaults: 130 eras, K = 100, N = 6000,
 * 20 targets × 3 versions, 2 % churn per era), printing growth ratios and bytes per era.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import * as schema from '../src/db/schema.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { recordResolvedEra } from '../src/db/results.js';
import { encodeFloat64 } from '../src/domain/packed.js';
import { EVENT_TYPES } from '../src/domain/events.js';
import { encodeRankCodes, rankCodes } from '../src/domain/prepared.js';
import { rng } from '../tests/support/rng.js';
import { runLoad } from './http-load.js';
import { HISTORY_RETENTION_INTERVAL_MS, runHistory } from './history.js';

const { values: opts } = parseArgs({
  options: {
    models: { type: 'string' },
    ids: { type: 'string' },
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'boolean', default: false },
    skip: { type: 'string', default: '' },
    'full-precision': { type: 'boolean', default: false },
    webhooks: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
    eras: { type: 'string', default: '130' },
    targets: { type: 'string', default: '20' },
    versions: { type: 'string', default: '3' },
    churn: { type: 'string', default: '0.02' },
    /** Leave the bench's database on the server afterwards (its name is logged), to look into it. */
    'keep-database': { type: 'boolean', default: false },
  },
});
// --history has its own default for models (sized to run in ≤ 10 minutes on 2 cores); its eras
// are as wide as a tournament's (6,000 ids), since an era's fixed bytes (two partitions, their
// indexes and catalog rows) would outweigh a narrow era's information and hide what scales.
const K = Number(opts.models ?? (opts.history ? '100' : '10000'));
const N = Number(opts.ids ?? '6000');
const SECONDS = Number(opts.seconds);
const CONCURRENCY = Number(opts.concurrency);
const skip = new Set(opts.skip.split(',').filter(Boolean));
const ADMIN = `sw_bench_${randomBytes(16).toString('hex')}`;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const random = rng(20261124);
const ids = Array.from({ length: N }, (_, i) => `id${String(i).padStart(6, '0')}`);
const SECTORS = ['10', '15', '20', '25', '30', '35', '40', '45', '50', '55', '60'];

// ---------------------------------------------------------------- processes

interface Service {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`process exited:\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready: ${url}\n${output()}`);
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function startProcess(script: string, env: Record<string, string>, readyPath: string): Promise<Service> {
  const port = await freePort();
  // BENCH_NODE_ARGS passes extra node flags to the processes measured, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-20_000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}${readyPath}`, child, () => output);
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const startService = (databaseUrl: string, env: Record<string, string> = {}) =>
  startProcess(
    'src/server.ts',
    { DATABASE_URL: databaseUrl, BOOTSTRAP_ADMIN_KEY: ADMIN, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', ...env },
    '/readyz',
  );

async function memory(pid: number): Promise<{ rssMb: number; hwmMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used so far by every process named postgres (the server and its backends). */
async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() === 'postgres') total += await cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * CPU seconds used so far by the benchmark's own PostgreSQL cluster (the one listening on `port`):
 * its postmaster, the backends it has reaped and the ones still running. Unlike
 * postgresCpuSeconds it leaves out every other PostgreSQL on the machine, so it stays meaningful
 * on a shared host; undefined when the cluster is not found (e.g. a remote DATABASE_URL).
 */
async function clusterCpuSeconds(port: string): Promise<number | undefined> {
  const procs: { pid: number; ppid: number }[] = [];
  let postmaster: number | undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() !== 'postgres') continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      procs.push({ pid: Number(entry), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) });
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const p = args.indexOf('-p');
      if (p >= 0 && args[p + 1] === port) postmaster = Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  if (postmaster === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${postmaster}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, and cutime, cstime: the CPU of children it has waited for (backends that exited).
    let total = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
    for (const child of procs) {
      if (child.ppid !== postmaster) continue;
      try {
        total += await cpuSeconds(child.pid);
      } catch {
        // exited meanwhile: counted in the postmaster's cutime from now on, a tick or two lost
      }
    }
    return total;
  } catch {
    return undefined;
  }
}

/** The CPU seconds the service process and the benchmark's PostgreSQL use while `work` runs. */
async function measuredCpu<T>(service: Service, work: () => Promise<T>): Promise<{ result: T; serviceCpuSeconds: number; postgresCpuSeconds: number | undefined }> {
  const port = new URL(DATABASE_URL_USED.value).port;
  const pid = service.child.pid!;
  const [serviceBefore, postgresBefore] = [await cpuSeconds(pid), await clusterCpuSeconds(port)];
  const result = await work();
  const [serviceAfter, postgresAfter] = [await cpuSeconds(pid), await clusterCpuSeconds(port)];
  return {
    result,
    serviceCpuSeconds: round(serviceAfter - serviceBefore, 2),
    postgresCpuSeconds: postgresBefore === undefined || postgresAfter === undefined ? undefined : round(postgresAfter - postgresBefore, 2),
  };
}

/** The database URL the run uses (set in main), for finding its cluster's processes. */
const DATABASE_URL_USED = { value: '' };

/** Runs a load and reports the CPU milliseconds per request the server process (and Postgres) used meanwhile. */
async function measuredLoad(server: Service, next: Parameters<typeof runLoad>[3]) {
  const pid = server.child.pid!;
  const [serverBefore, postgresBefore] = [await cpuSeconds(pid), await postgresCpuSeconds()];
  const result = await runLoad(server.url, CONCURRENCY, SECONDS, next);
  const [serverAfter, postgresAfter] = [await cpuSeconds(pid), await postgresCpuSeconds()];
  const perRequest = (seconds: number) => round((seconds * 1000) / Math.max(1, result.requests), 3);
  return { ...result, serverCpuMs: perRequest(serverAfter - serverBefore), postgresCpuMs: perRequest(postgresAfter - postgresBefore) };
}

/** Resets the peak-RSS counter (Linux: clear_refs 5), so VmHWM afterwards is this step's peak. */
async function resetPeak(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- API

async function api<T = unknown>(service: Service, method: string, url: string, key: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const res = await fetch(`${service.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

const universeCsv = () =>
  `id,sector,industry,country,tags,thermal_coal_revenue_share\n${ids
    .map((id, i) => `${id},${SECTORS[i % SECTORS.length]},${SECTORS[i % SECTORS.length]}1010,US,${i % 97 === 0 ? 'tobacco' : ''},${(i % 40) / 1000}`)
    .join('\n')}\n`;

async function createEra(service: Service, operator: string, number: number) {
  await api(service, 'POST', '/v1/eras', operator, { number, closesAt: new Date(Date.now() + 7_200_000).toISOString() });
  await api(service, 'PUT', `/v1/eras/${number}/universe`, operator, universeCsv(), 'text/csv');
}

/** Predictions with 6 decimals, or with every digit of a double (--full-precision). */
function predictionCsv() {
  const value = opts['full-precision'] ? random : () => Math.round(random() * 1e6) / 1e6;
  const lines = ids.map((id) => `${id},${value()}`);
  return `id,prediction\n${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- phases

async function ingest(service: Service, author: string, operator: string) {
  await createEra(service, operator, 1);
  const perWorker = 10;
  log(`ingest: creating ${CONCURRENCY * perWorker} models`);
  const models: string[] = [];
  for (let i = 0; i < CONCURRENCY * perWorker; i++) {
    const model = await api<{ id: string }>(service, 'POST', '/v1/models', author, { name: `ingest_${i}` });
    await api(service, 'PUT', `/v1/models/${model.id}/stake`, author, { amount: '100' });
    models.push(model.id);
  }
  const bodies = Array.from({ length: 64 }, predictionCsv);
  const headers = { authorization: `Bearer ${author}`, 'content-type': 'text/csv' };
  // Each model gets a different body every time, so every request stores a new submission.
  const sent = new Array<number>(models.length).fill(0);
  const next = (worker: number, i: number) => {
    const m = worker * perWorker + (i % perWorker);
    return { path: `/v1/models/${models[m]}/submissions?era=1`, headers, body: bodies[(m + sent[m]++) % bodies.length] };
  };
  log('ingest: warm-up 3 s');
  await runLoad(service.url, CONCURRENCY, 3, next);
  log(`ingest: ${SECONDS} s at ${CONCURRENCY} connections`);
  const measured = await measuredLoad(service, next);
  log(
    `ingest: ${measured.perSecond.toFixed(0)} submissions/s, statuses ${JSON.stringify(measured.statuses)}; ` +
      `CPU per submission: service ${measured.serverCpuMs} ms, PostgreSQL ${measured.postgresCpuMs} ms`,
  );

  const baselineServer = await startProcess('bench/baseline-server.ts', { BENCH_IDS: String(N) }, '/healthz');
  try {
    const nextBare = (_w: number, i: number) => ({ path: '/parse', headers: { 'content-type': 'text/csv' }, body: bodies[i % bodies.length] });
    await runLoad(baselineServer.url, CONCURRENCY, 3, nextBare);
    log(`baseline: ${SECONDS} s at ${CONCURRENCY} connections`);
    const baseline = await measuredLoad(baselineServer, nextBare);
    log(`baseline: ${baseline.perSecond.toFixed(0)} bodies/s; CPU per body ${baseline.serverCpuMs} ms`);
    return { service: measured, baseline };
  } finally {
    await baselineServer.stop();
  }
}

/** Seeds K staked models with on-time submissions directly in the database (prepared at "ingest"). */
/** With --webhooks: a receiver on 127.0.0.1 that acknowledges every delivery at once, and what it received. */
const receiver = { url: '', received: 0 };
async function startReceiver() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      receiver.received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return server;
}

async function seedModels(pool: pg.Pool, era: number, count: number) {
  const distinct = 64;
  const vectors = Array.from({ length: distinct }, () => {
    const values = Float64Array.from(ids, () => random());
    const { codes, covered } = rankCodes(values);
    return { raw: encodeFloat64(values), ranks: encodeRankCodes(codes), covered, sha: randomBytes(32).toString('hex') };
  });
  const { rows } = await pool.query<{ id: string }>(`insert into accounts (name, role) values ($1, 'author') returning id`, [`seed-${era}`]);
  const accountId = rows[0].id;
  if (opts.webhooks) {
    await pool.query(`insert into webhooks (account_id, url, events, secret) values ($1, $2, $3::text[], $4)`, [
      accountId,
      receiver.url,
      EVENT_TYPES,
      `whsec_${randomBytes(32).toString('base64')}`,
    ]);
  }
  const batch = 100;
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    const modelIds = Array.from({ length: size }, () => randomUUID());
    await pool.query(
      `insert into models (id, name, account_id) select unnest($1::uuid[]), unnest($2::text[]), $3`,
      [modelIds, modelIds.map((_, j) => `seed_${era}_${start + j}`), accountId],
    );
    const stakes = modelIds.map((_, j) => String(1 + ((start + j) % 1000) * 3.7));
    await pool.query(
      `insert into stake_entries (model_id, seq, kind, delta, amount, balance, at)
       select m, 1, 'deposit', v, v, v, now() - interval '1 minute' from unnest($1::uuid[], $2::numeric[]) as u(m, v)`,
      [modelIds, stakes],
    );
    const params: unknown[] = [];
    const tuples = modelIds.map((modelId, j) => {
      const v = vectors[(start + j) % distinct];
      params.push(modelId, v.sha, v.covered, v.raw, v.ranks);
      const p = params.length;
      return `(${era}, $${p - 4}, $${p - 3}, ${N}, $${p - 2}, false, $${p - 1}, $${p})`;
    });
    await pool.query(`insert into submissions (era_number, model_id, sha256, rows, covered, late, raw, ranks) values ${tuples.join(',')}`, params);
  }
}

/**
 * Writes every dirty buffer out before a timed phase. The seeding writes about 500 MB of WAL, so a
 * checkpoint is otherwise often in flight (and syncing files) while the phase runs, and whether it
 * overlaps depends on how much WAL earlier phases wrote, not on the code measured.
 */
async function checkpoint(pool: pg.Pool) {
  await pool.query('checkpoint').catch((error: Error) => log(`checkpoint skipped (${error.message}): the phase may overlap one`));
}

async function close(pool: pg.Pool, databaseUrl: string, operator: string, era: number, models: number) {
  const service = await startService(databaseUrl);
  try {
    await createEra(service, operator, era);
    log(`close: seeding ${models} models × ${N} ids`);
    await seedModels(pool, era, models);
    await pool.query('vacuum analyze submissions');
    await checkpoint(pool);
    const pid = service.child.pid!;
    const exact = await resetPeak(pid);
    const before = await memory(pid);
    let sampledPeak = before.rssMb;
    const sampler = setInterval(() => void memory(pid).then((m) => (sampledPeak = Math.max(sampledPeak, m.rssMb))).catch(() => {}), 10);
    log(`close: era ${era}`);
    const t0 = performance.now();
    const closed = await api<{ run: { models: number } }>(service, 'POST', `/v1/eras/${era}/close`, operator);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const after = await memory(pid);
    const peak = exact ? Math.max(after.hwmMb, sampledPeak) : sampledPeak;
    if (closed.run.models !== models) throw new Error(`run has ${closed.run.models} models, expected ${models}`);
    const meta = await api<{ rows: unknown[] }>(service, 'GET', `/v1/eras/${era}/meta-model`, operator);
    if (meta.rows.length !== N) throw new Error(`meta-model has ${meta.rows.length} rows`);
    log(`close: ${models} models in ${seconds.toFixed(2)} s, RSS +${(peak - before.rssMb).toFixed(0)} MB`);
    return { models, ids: N, seconds, rssGrowthMb: peak - before.rssMb, service };
  } catch (error) {
    await service.stop();
    throw error;
  }
}

async function scoring(service: Service, operator: string, era: number, models: number) {
  const target = `id,target\n${ids.map((id) => `${id},${[0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]}`).join('\n')}\n`;
  log(`scoring: era ${era}`);
  const t0 = performance.now();
  const { serviceCpuSeconds, postgresCpuSeconds } = await measuredCpu(service, () => api(service, 'PUT', `/v1/eras/${era}/targets/target`, operator, target, 'text/csv'));
  const seconds = (performance.now() - t0) / 1000;
  log(`scoring: ${models} models in ${seconds.toFixed(2)} s (CPU: service ${serviceCpuSeconds} s, PostgreSQL ${postgresCpuSeconds ?? '?'} s)`);
  return { models, ids: N, seconds, serviceCpuSeconds, postgresCpuSeconds };
}

/** Resolution: every at-risk model's payout or burn written to the stake ledger, in one transaction. */
async function resolution(service: Service, operator: string, era: number, models: number) {
  log(`resolve: era ${era}`);
  const t0 = performance.now();
  await api(service, 'POST', `/v1/eras/${era}/resolve`, operator);
  const seconds = (performance.now() - t0) / 1000;
  log(`resolve: ${models} models in ${seconds.toFixed(2)} s`);
  return { models, seconds };
}

const TARGET_VALUES = [0, 0.25, 0.5, 0.75, 1];
const targetColumn = () => ids.map(() => TARGET_VALUES[Math.floor(random() * 5)]);

/** 20 targets in one upload on the K-model era: one pass over the stored submissions for all of them. */
async function manyTargets(service: Service, operator: string, era: number, models: number, count = 20) {
  const names = Array.from({ length: count }, (_, j) => `t${String(j + 1).padStart(2, '0')}`);
  const columns = names.map(targetColumn);
  const body = `id,${names.join(',')}\n${ids.map((id, i) => `${id},${columns.map((c) => c[i]).join(',')}`).join('\n')}\n`;
  log(`targets: ${count} targets at once, era ${era}`);
  const t0 = performance.now();
  const { result: reply, serviceCpuSeconds, postgresCpuSeconds } = await measuredCpu(service, () => api<{ targets: unknown[]; scored: number }>(service, 'PUT', `/v1/eras/${era}/targets`, operator, body, 'text/csv'));
  const seconds = (performance.now() - t0) / 1000;
  if (reply.targets.length !== count || reply.scored !== models) throw new Error(`unexpected reply ${JSON.stringify(reply).slice(0, 300)}`);
  log(`targets: ${count} targets × ${models} models in ${seconds.toFixed(2)} s (CPU: service ${serviceCpuSeconds} s, PostgreSQL ${postgresCpuSeconds ?? '?'} s)`);
  return { targets: count, models, ids: N, seconds, serviceCpuSeconds, postgresCpuSeconds };
}

const LEADERBOARD_ERAS = 60;
const FIRST_SEEDED_ERA = 1000;

/**
 * K models × 60 resolved eras of stored scores, seeded in the database (a tiny submission per model
 * and era, and one packed score set per era, as scoring leaves them) and resolved through the service's own
 * results module, so the rows and running totals are the ones resolution writes.
 */
async function seedResolvedEras(pool: pg.Pool, modelIds: string[]) {
  const db = drizzle(pool, { schema });
  for (let e = 0; e < LEADERBOARD_ERAS; e++) {
    const era = FIRST_SEEDED_ERA + e;
    await pool.query(
      `insert into eras (number, opens_at, closes_at, main_target, closed_at) values ($1, now() - interval '2 days', now() - interval '1 day', 'target', now() - interval '1 day')`,
      [era],
    );
    await pool.query(`insert into targets (era_number, name, version, values, count) values ($1, 'target', 1, '\\x', 0)`, [era]);
    // Every 10th model sits an era out, so the totals carry models forward as they do in practice.
    await pool.query(
      `insert into submissions (era_number, model_id, sha256, rows, covered, late, raw, ranks)
       select $1::int, m, md5($1::text || m::text), 0, 0, false, '\\x', '\\x' from unnest($2::uuid[]) with ordinality as u(m, k) where (k + $1::int) % 10 <> 0`,
      [era, modelIds],
    );
    await pool.query(
      `insert into score_orders (era_number, submission_ids, model_ids, lates)
       select $1, array_agg(id order by id), array_agg(model_id order by id), array_agg(late order by id) from submissions where era_number = $1`,
      [era],
    );
    await pool.query(
      `insert into score_sets (era_number, target, target_version, statuses, corrs, mmcs, stakes, payouts)
       select $1, 'target', 1, array_agg('ok'::text order by id), array_agg(c order by id), array_agg(x order by id), array_agg(100::numeric order by id),
              array_agg(round(100 * greatest(-0.05, least(0.05, 0.5 * c + 2 * x)))::numeric order by id)
       from (select id, random() * 0.1 - 0.05 as c, random() * 0.02 - 0.01 as x from submissions where era_number = $1) s`,
      [era],
    );
    await db.transaction(async (tx) => {
      await tx.execute(sql`update eras set resolved_at = now() where number = ${era}`);
      await recordResolvedEra(tx, { number: era, mainTarget: 'target' });
    });
    if (e % 10 === 9) log(`leaderboard: ${e + 1} eras resolved`);
  }
  await pool.query('vacuum analyze model_era_results');
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function latency(service: Service, key: string, urls: () => string, requests: number) {
  for (let i = 0; i < 20; i++) await api(service, 'GET', urls(), key);
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await api(service, 'GET', urls(), key);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { requests, p50Ms: round(percentile(times, 50), 2), p99Ms: round(percentile(times, 99), 2), maxMs: round(times[times.length - 1], 2) };
}

async function leaderboard(pool: pg.Pool, service: Service, operator: string, models: number) {
  const { rows } = await pool.query<{ id: string }>(`select id from models order by name limit $1`, [models]);
  const modelIds = rows.map((r) => r.id);
  log(`leaderboard: seeding ${modelIds.length} models × ${LEADERBOARD_ERAS} resolved eras`);
  const t0 = performance.now();
  await seedResolvedEras(pool, modelIds);
  const seedSeconds = (performance.now() - t0) / 1000;
  const check = await api<{ total: number }>(service, 'GET', '/v1/leaderboard?window=20&limit=5', operator);
  if (check.total < modelIds.length * 0.9) throw new Error(`leaderboard lists ${check.total} models`);
  const pick = () => modelIds[Math.floor(random() * modelIds.length)];
  const REQUESTS = 300;
  const result = {
    models: modelIds.length,
    eras: LEADERBOARD_ERAS,
    seedSeconds: round(seedSeconds, 1),
    // The cheapest authenticated route, for the floor a request costs on this host.
    me: await latency(service, operator, () => '/v1/me', REQUESTS),
    leaderboard: await latency(service, operator, () => '/v1/leaderboard', REQUESTS),
    leaderboardWindow260: await latency(service, operator, () => '/v1/leaderboard?window=260&limit=1000', REQUESTS),
    performance: await latency(service, operator, () => `/v1/models/${pick()}/performance`, REQUESTS),
  };
  log(`leaderboard: ${JSON.stringify(result)}`);
  return result;
}

// ---------------------------------------------------------------- main

async function main() {
  let databaseUrl = process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  let tempDir: string | undefined;
  const benchDb = `stakeweight_bench_${randomBytes(3).toString('hex')}`;
  if (!databaseUrl) {
    tempDir = await mkdtemp(path.join(tmpdir(), 'stakeweight-bench-'));
    log('starting embedded PostgreSQL');
    const embedded = await startEmbeddedPostgres(tempDir, { persistent: false });
    databaseUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create database ${benchDb}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${benchDb}`;
  const benchUrl = url.toString();
  DATABASE_URL_USED.value = benchUrl;
  const pool = new pg.Pool({ connectionString: benchUrl, max: 4 });
  // An idle connection ended from outside (a shared server's tests terminating backends) is logged, not fatal.
  pool.on('error', (error) => log(`idle database connection lost: ${error.message}`));

  const result: Record<string, unknown> = {};
  const hooks = opts.webhooks ? await startReceiver() : undefined;
  // The history bench lives an era in about two seconds: retention passes come as often, as the scheduler's minute does for an era of a day (bench/history.ts).
  let service = await startService(benchUrl, opts.history ? { RETENTION_INTERVAL_MS: String(HISTORY_RETENTION_INTERVAL_MS) } : {});
  try {
    const operator = (await api<{ apiKey: string }>(service, 'POST', '/v1/accounts', ADMIN, { name: 'bench-operator', role: 'operator' })).apiKey;
    const authorAccount = await api<{ id: string; apiKey: string }>(service, 'POST', '/v1/accounts', ADMIN, { name: 'bench-author', role: 'author' });
    const author = authorAccount.apiKey;
    // Stakes are paid from the author's wallet (STAKE_FUNDING=wallet, the default): enough for every model the phases stake.
    await api(service, 'POST', `/v1/accounts/${authorAccount.id}/wallet/credits`, operator, { amount: '100000000', reference: 'bench' });
    if (opts.history) {
      const history = await runHistory(
        { url: service.url, operator, author, pool, random, log, servicePid: service.child.pid },
        { eras: Number(opts.eras), models: K, ids: N, targets: Number(opts.targets), versions: Number(opts.versions), churn: Number(opts.churn), concurrency: Math.min(CONCURRENCY, 8) },
      );
      reportHistory(history);
      return;
    }
    if (!skip.has('ingest')) {
      const { service: s, baseline } = await ingest(service, author, operator);
      result.ingest = {
        submissionsPerSecond: round(s.perSecond),
        baselinePerSecond: round(baseline.perSecond),
        // Rounded down, so a ratio just under a target never prints as meeting it.
        ratio: Math.floor((s.perSecond / baseline.perSecond) * 1000) / 1000,
        p50Ms: round(s.p50Ms),
        p99Ms: round(s.p99Ms),
        failed: s.failed,
        cpuMsPerSubmission: { service: s.serverCpuMs, postgres: s.postgresCpuMs, baselineRoute: baseline.serverCpuMs },
      };
    }
    await service.stop();

    const sizes = [...new Set([Math.round(K / 10), Math.round(K / 2), K])].filter((k) => k > 0);
    const closes = [];
    let last: Awaited<ReturnType<typeof close>> | undefined;
    for (const [i, k] of sizes.entries()) {
      if (skip.has('close')) break;
      if (last?.service) await last.service.stop();
      last = await close(pool, benchUrl, operator, 10 + i, k);
      closes.push({ models: k, ids: N, seconds: round(last.seconds, 3), rssGrowthMb: round(last.rssGrowthMb) });
    }
    if (closes.length) {
      result.close = { ...closes[closes.length - 1], series: closes };
      service = last!.service;
      const era = 10 + sizes.length - 1;
      if (!skip.has('scoring')) result.scoring = await scoring(service, operator, era, K).then((r) => ({ ...r, seconds: round(r.seconds, 3) }));
      if (!skip.has('targets')) {
        const many = await manyTargets(service, operator, era, K);
        const one = result.scoring as { seconds: number } | undefined;
        result.targets = { ...many, seconds: round(many.seconds, 3), ratioToOne: one ? Math.ceil((many.seconds / one.seconds) * 100) / 100 : undefined };
      }
      // Resolution makes the era's targets final, so it comes after the many-target upload.
      if (!skip.has('scoring') && !skip.has('resolve')) result.resolve = await resolution(service, operator, era, K).then((r) => ({ ...r, seconds: round(r.seconds, 3) }));
      if (!skip.has('leaderboard')) result.leaderboard = await leaderboard(pool, service, operator, K);
    }
    if (hooks) {
      const { rows } = await pool.query<{ events: number; deliveries: number }>(
        `select (select count(*)::int from events) as events, (select count(*)::int from webhook_deliveries) as deliveries`,
      );
      result.webhooks = { events: rows[0].events, deliveriesWritten: rows[0].deliveries, receivedDuringRun: receiver.received };
    }
  } finally {
    hooks?.close();
    await service.stop();
    await pool.end();
    if (opts['keep-database'] && !tempDir) log(`kept the database ${benchDb}`);
    else await admin.query(`drop database if exists ${benchDb} with (force)`);
    await admin.end();
    await stopEmbedded();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
  report(result);
}

function round(x: number, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function reportHistory(h: Awaited<ReturnType<typeof runHistory>>) {
  const lines = [
    `Stakeweight history bench — ${h.eras} eras, ${h.models} models (${h.modelsEver} ever, ${h.churnPerEra} churn per era), ${h.ids} ids, ${h.targets} targets × ${h.versions} versions, ${h.seconds} s`,
    h.vacuum,
    `wall seconds by step: ${JSON.stringify(h.secondsBySteps)}`,
    '',
    '| what | early (ms) | late (ms) | late ÷ early | CPU early (ms) | CPU late (ms) | CPU late ÷ early |',
    '|---|---|---|---|---|---|---|',
    ...Object.keys(h.growth).map((k) => `| ${k} | ${h.earlyMs[k]} | ${h.lateMs[k]} | ${h.growth[k]} | ${h.earlyCpuMs[k]} | ${h.lateCpuMs[k]} | ${h.growthCpu[k] ?? '?'} |`),
    '',
    `database: ${h.databaseBytesPerEra} bytes per era over the last ${h.sizeWindowEras} eras; information ${h.informationPerEra} bytes per era; ratio ${h.ratioToInformation}`,
    ...Object.entries(h.bytesPerEra).map(([t, b]) => `  ${t}: ${b} bytes per era`),
    `largest answers: ${JSON.stringify(h.largestAnswer)}; over 256 KB without a next page: ${h.over256KbWithoutNext.join(', ') || 'none'}`,
    `one year at Numerai scale: ${h.numeraiYear.gigabytes} GB (${h.numeraiYear.bytesPerEra} bytes per era)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ history: h })}\n`);
}

function report(result: Record<string, unknown>) {
  const ingestR = result.ingest as { submissionsPerSecond: number; baselinePerSecond: number; ratio: number; p50Ms: number; p99Ms: number } | undefined;
  const closeR = result.close as { series: { models: number; seconds: number; rssGrowthMb: number }[] } | undefined;
  const scoringR = result.scoring as { models: number; seconds: number; serviceCpuSeconds?: number; postgresCpuSeconds?: number } | undefined;
  const lines = [`Stakeweight benchmark — n = ${N} ids, K = ${K} models, ${CONCURRENCY} connections`, '', '| what | measured | target |', '|---|---|---|'];
  if (ingestR) {
    lines.push(`| ingest, CSV over HTTP | ${ingestR.submissionsPerSecond} submissions/s (p50 ${ingestR.p50Ms} ms, p99 ${ingestR.p99Ms} ms) | ≥ 300/s |`);
    lines.push(`| bare parsing route | ${ingestR.baselinePerSecond} bodies/s; ratio ${ingestR.ratio} | ratio ≥ 0.5 |`);
  }
  for (const c of closeR?.series ?? []) lines.push(`| close → meta-model, K = ${c.models} | ${c.seconds} s, RSS +${c.rssGrowthMb} MB | ≤ 2 s, ≤ 300 MB at K = 10,000 |`);
  const cpu = (r: { serviceCpuSeconds?: number; postgresCpuSeconds?: number }) => ` (CPU: service ${r.serviceCpuSeconds ?? '?'} s, PostgreSQL ${r.postgresCpuSeconds ?? '?'} s)`;
  if (scoringR) lines.push(`| score one target, K = ${scoringR.models} | ${scoringR.seconds} s${cpu(scoringR)} | ≤ 5 s |`);
  const resolveR = result.resolve as { models: number; seconds: number } | undefined;
  if (resolveR) lines.push(`| resolve: payouts into the stake ledger, K = ${resolveR.models} | ${resolveR.seconds} s | (none) |`);
  const targetsR = result.targets as { targets: number; models: number; seconds: number; ratioToOne?: number; serviceCpuSeconds?: number; postgresCpuSeconds?: number } | undefined;
  if (targetsR) lines.push(`| score ${targetsR.targets} targets in one upload, K = ${targetsR.models} | ${targetsR.seconds} s; ${targetsR.ratioToOne ?? '?'} × one target${cpu(targetsR)} | ≤ 3 × |`);
  const lb = result.leaderboard as Record<string, { p50Ms: number; p99Ms: number }> & { models: number; eras: number } | undefined;
  if (lb) {
    lines.push(`| leaderboard (window 20, first 100), ${lb.models} models × ${lb.eras} eras | p50 ${lb.leaderboard.p50Ms} ms, p99 ${lb.leaderboard.p99Ms} ms | p99 ≤ 50 ms |`);
    lines.push(`| leaderboard (window 260, first 1000) | p50 ${lb.leaderboardWindow260.p50Ms} ms, p99 ${lb.leaderboardWindow260.p99Ms} ms | p99 ≤ 50 ms |`);
    lines.push(`| performance of one model | p50 ${lb.performance.p50Ms} ms, p99 ${lb.performance.p99Ms} ms | p99 ≤ 50 ms |`);
    lines.push(`| (floor: GET /v1/me on the same service) | p50 ${lb.me.p50Ms} ms, p99 ${lb.me.p99Ms} ms | |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (opts.json) {
    const { series: _series, ...closeHeadline } = (result.close ?? {}) as Record<string, unknown>;
    process.stdout.write(`${JSON.stringify({ ingest: result.ingest, close: result.close ? closeHeadline : undefined, closeSeries: closeR?.series, scoring: result.scoring, targets: result.targets, resolve: result.resolve, leaderboard: result.leaderboard, webhooks: result.webhooks })}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
