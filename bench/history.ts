/**
 * The history bench (`npm run bench -- --history`): a long tournament driven over HTTP against one
 * service and one database, measuring how the per-era costs and the database grow with history.
 *
 * Every era: open it (closesAt an hour ahead, closed early by request), upload its universe, one
 * submission per active model, close, V uploads of T target columns (V versions of every target),
 * resolve, then the first leaderboard after the resolution. Models churn: a tenth of the first
 * models stay all along, the others leave at `churn` per era (stake lowered to 0, no more
 * submissions) and as many new models join (created and staked). Everything goes through the API
 * except vacuum and analyze, which the bench runs itself after every era, table by table, where
 * autovacuum's default thresholds say autovacuum would (it may be off on the server; see autovacuumPass).
 * The service runs its retention pass every second (HISTORY_RETENTION_INTERVAL_MS) rather than
 * every minute, so that retention and its rewrites keep pace with eras that last seconds.
 *
 * Growth figures are late ÷ early in the same run: the median of the samples taken over five eras
 * around era 15 and over the last five eras.
 */
import { readFile } from 'node:fs/promises';
import type pg from 'pg';

export interface HistoryOptions {
  eras: number;
  models: number;
  ids: number;
  targets: number;
  versions: number;
  churn: number;
  concurrency: number;
}

export interface HistoryContext {
  url: string;
  operator: string;
  author: string;
  pool: pg.Pool;
  /** The service process, for its CPU time (with the database's backends', read from /proc when local). */
  servicePid?: number;
  random: () => number;
  log: (message: string) => void;
}

const NUMERAI = { eras: 260, models: 10_000, ids: 6_000, targets: 20, versions: 20 };
/** RETENTION_INTERVAL_MS of the service the history bench drives: an era lasts about 2 s here, a day or more in a tournament. */
export const HISTORY_RETENTION_INTERVAL_MS = 1_000;
const SIZE_WINDOW = 40;
const SAMPLE_ERAS = 5;
const READS_PER_SAMPLE = 3;
const TARGET_VALUES = [0, 0.25, 0.5, 0.75, 1];

/** What a table's rows scale with, for the extrapolation; see unitOf. */
type Unit = 'modelId' | 'modelTargetVersion' | 'idTargetVersion' | 'modelTarget' | 'id' | 'model';

/**
 * The count a table's per-era rows scale with, from its name: submissions and close inputs hold a
 * value per model and id (close inputs, one row per model, scale with the models), scores one per model, target and version, targets one per id, target and
 * version, era results one per model and target, universe rows one per id; everything else (ledger,
 * events, audit, bundles' model lists, reports) is taken to scale with the models.
 */
export function unitOf(table: string): Unit {
  const name = table.replace(/^.*\./, '');
  if (/submission/.test(name)) return 'modelId';
  if (/score/.test(name)) return 'modelTargetVersion';
  if (/^targets?$|target_value/.test(name)) return 'idTargetVersion';
  if (/era_result/.test(name)) return 'modelTarget';
  if (/universe/.test(name)) return 'id';
  return 'model';
}

function unitCount(unit: Unit, s: { models: number; ids: number; targets: number; versions: number }) {
  switch (unit) {
    case 'modelId':
      return s.models * s.ids;
    case 'modelTargetVersion':
      return s.models * s.targets * s.versions;
    case 'idTargetVersion':
      return s.ids * s.targets * s.versions;
    case 'modelTarget':
      return s.models * s.targets;
    case 'id':
      return s.ids;
    case 'model':
      return s.models;
  }
}

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Answer<T> {
  ms: number;
  bytes: number;
  /** The reply's JSON, as the caller says it is shaped (the bench checks what it relies on). */
  body: T;
}

/**
 * What autovacuum would do now with its default settings (PostgreSQL 15), run by the bench since
 * autovacuum may be off on the server: VACUUM each table (user and catalog; partitions are tables,
 * their partitioned parents are skipped as autovacuum skips them) whose dead rows exceed 50 + 20 %
 * of its rows or whose rows inserted since its last vacuum exceed 1,000 + 20 %, and ANALYZE each
 * whose rows changed since its last analyze exceed 50 + 10 %. Statistics counters reach the view
 * within a second of each commit, so a table may be taken a pass late, as autovacuum's naptime would.
 */
export async function autovacuumPass(pool: pg.Pool): Promise<{ vacuumed: number; analyzed: number }> {
  const { rows } = await pool.query<{ name: string; vacuum: boolean; analyze: boolean }>(`
    select format('%I.%I', s.schemaname, s.relname) as name,
           s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) or s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) as vacuum,
           s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) as analyze
    from pg_stat_all_tables s join pg_class c on c.oid = s.relid
    where c.relkind = 'r' and s.schemaname in ('public', 'pg_catalog')`);
  let vacuumed = 0;
  let analyzed = 0;
  for (const r of rows) {
    if (!r.vacuum && !r.analyze) continue;
    await pool.query(`${r.vacuum ? 'vacuum' : 'analyze'}${r.vacuum && r.analyze ? ' (analyze)' : ''} ${r.name}`);
    if (r.vacuum) vacuumed++;
    if (r.analyze) analyzed++;
  }
  return { vacuumed, analyzed };
}

export async function runHistory(ctx: HistoryContext, o: HistoryOptions) {
  const { url, operator, author, pool, random, log } = ctx;
  const started = performance.now();
  const ids = Array.from({ length: o.ids }, (_, i) => `id${String(i).padStart(6, '0')}`);
  const targetNames = Array.from({ length: o.targets }, (_, j) => (j === 0 ? 'target' : `t${String(j + 1).padStart(2, '0')}`));

  async function call<T = unknown>(method: string, path: string, key: string, body?: string, contentType = 'application/json'): Promise<Answer<T>> {
    const t0 = performance.now();
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body,
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return { ms, bytes: Buffer.byteLength(text), body: (text ? JSON.parse(text) : null) as T };
  }
  const json = <T = unknown>(method: string, path: string, key: string, body?: unknown) => call<T>(method, path, key, body === undefined ? undefined : JSON.stringify(body));

  /** Runs `work` over `items` with at most `limit` at a time. */
  async function pooled<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>) {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }));
  }

  const universe = `id,sector,country\n${ids.map((id, i) => `${id},${10 + (i % 11) * 5},US`).join('\n')}\n`;
  const bodies = Array.from({ length: 64 }, () => `id,prediction\n${ids.map((id) => `${id},${Math.round(random() * 1e6) / 1e6}`).join('\n')}\n`);
  const targetsCsv = () => {
    const columns = targetNames.map(() => ids.map(() => TARGET_VALUES[Math.floor(random() * TARGET_VALUES.length)]));
    return `id,${targetNames.join(',')}\n${ids.map((id, i) => `${id},${columns.map((c) => c[i]).join(',')}`).join('\n')}\n`;
  };

  // ---------------------------------------------------------------- models and churn
  let made = 0;
  async function newModel() {
    const model = (await json<{ id: string }>('POST', '/v1/models', author, { name: `history_${made++}` })).body;
    await json('PUT', `/v1/models/${model.id}/stake`, author, { amount: '100' });
    return model.id;
  }
  log(`history: creating ${o.models} models`);
  const active: string[] = [];
  await pooled(Array.from({ length: o.models }, (_, i) => i), o.concurrency, async () => active.push(await newModel()));
  const core = new Set(active.slice(0, Math.max(1, Math.ceil(o.models / 10))));
  const watched = active[0];
  let churnCarry = 0;
  let left = 0;

  // ---------------------------------------------------------------- samples
  const early = new Set(Array.from({ length: SAMPLE_ERAS }, (_, i) => Math.min(o.eras, 13) + i).filter((e) => e <= o.eras - SAMPLE_ERAS));
  const late = new Set(Array.from({ length: SAMPLE_ERAS }, (_, i) => o.eras - i));
  type Phase = 'resolve' | 'close' | 'scoring' | 'leaderboard' | 'modelScores' | 'performance' | 'summary';
  const samples = { early: new Map<Phase, number[]>(), late: new Map<Phase, number[]>() };
  const record = (era: number, phase: Phase, ms: number, into = samples) => {
    const at = early.has(era) ? into.early : late.has(era) ? into.late : undefined;
    if (!at) return;
    at.set(phase, [...(at.get(phase) ?? []), ms]);
  };

  /**
   * CPU milliseconds used so far by the service process and by each PostgreSQL backend of this
   * database (from /proc: a local server only), keyed by pid. CPU is what a step costs whatever
   * else the host runs meanwhile, so it is the growth figure to trust on a shared machine.
   */
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  async function cpuByPid(): Promise<Map<number, number> | undefined> {
    if (!ctx.servicePid) return undefined;
    try {
      const out = new Map([[ctx.servicePid, ticks(await readFile(`/proc/${ctx.servicePid}/stat`, 'utf8'))]]);
      const { rows } = await pool.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
      for (const { pid } of rows) {
        try {
          out.set(pid, ticks(await readFile(`/proc/${pid}/stat`, 'utf8')));
        } catch {
          // not on this host, or gone meanwhile
        }
      }
      return out.size > 1 ? out : undefined;
    } catch {
      return undefined;
    }
  }
  const cpuSamples = { early: new Map<Phase, number[]>(), late: new Map<Phase, number[]>() };
  /** Runs `work`; in a sampled era also records the CPU it cost (service and database backends). */
  async function withCpu<T>(era: number, phase: Phase, work: () => Promise<T>): Promise<T> {
    if (!early.has(era) && !late.has(era)) return work();
    const before = await cpuByPid();
    const result = await work();
    const after = await cpuByPid();
    if (before && after) {
      let ms = 0;
      for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
      record(era, phase, ms, cpuSamples);
    }
    return result;
  }

  const largest: Record<string, { bytes: number; era: number; next: boolean; pages: number }> = {};
  /** Reads a paged answer: times its first page; follows `next` (when the API pages) to check every page's size. */
  async function paged(name: string, era: number, path: string, key: string, follow: boolean) {
    const first = await call<{ next?: string | null } | null>('GET', path, key);
    let pages = 1;
    let biggest = first.bytes;
    let next = first.body?.next;
    const hadNext = next !== undefined && next !== null;
    while (follow && next !== undefined && next !== null && pages < 1000) {
      const page = await call<{ next?: string | null } | null>('GET', `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(String(next))}`, key);
      pages++;
      biggest = Math.max(biggest, page.bytes);
      next = page.body?.next;
    }
    const seen = largest[name];
    if (!seen || biggest > seen.bytes) largest[name] = { bytes: biggest, era, next: hadNext, pages: follow ? pages : seen?.pages ?? 1 };
    return first.ms;
  }

  // ---------------------------------------------------------------- sizes
  async function sizes() {
    const { rows } = await pool.query<{ name: string; bytes: string }>(
      `select case when n.nspname = 'public' then r.relname else n.nspname || '.' || r.relname end as name, sum(pg_total_relation_size(c.oid))::bigint as bytes
       from pg_class c
       join pg_class r on r.oid = coalesce(pg_partition_root(c.oid), c.oid)
       join pg_namespace n on n.oid = r.relnamespace
       where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
       group by 1`,
    );
    const database = await pool.query<{ bytes: string }>('select pg_database_size(current_database())::bigint as bytes');
    const out = new Map(rows.map((r) => [r.name, Number(r.bytes)]));
    out.set('(database)', Number(database.rows[0].bytes));
    return out;
  }
  const sizeFrom = Math.max(1, o.eras - SIZE_WINDOW);
  let sizesBefore: Map<string, number> | undefined;
  let vacuumMs = 0;
  const vacuumed = { tables: 0, analyzed: 0 };

  // ---------------------------------------------------------------- eras
  const closesAt = () => new Date(Date.now() + 3_600_000).toISOString();
  /** Wall seconds by step over the whole run, to say where the run's time goes. */
  const spent: Record<string, number> = {};
  let mark = performance.now();
  const lap = (step: string) => {
    const now = performance.now();
    spent[step] = (spent[step] ?? 0) + (now - mark) / 1000;
    mark = now;
  };
  for (let era = 1; era <= o.eras; era++) {
    lap('other');
    await json('POST', '/v1/eras', operator, { number: era, closesAt: closesAt() });
    await call('PUT', `/v1/eras/${era}/universe`, operator, universe, 'text/csv');

    churnCarry += (active.length - core.size) * o.churn;
    const leaving = Math.floor(churnCarry);
    churnCarry -= leaving;
    if (leaving > 0) {
      const out = active.filter((m) => !core.has(m)).slice(0, leaving);
      await pooled(out, o.concurrency, (m) => json('PUT', `/v1/models/${m}/stake`, author, { amount: '0' }));
      for (const m of out) active.splice(active.indexOf(m), 1);
      left += out.length;
      await pooled(out, o.concurrency, async () => active.push(await newModel()));
    }

    lap('open and churn');
    await pooled(active.map((m, i) => ({ m, i })), o.concurrency, ({ m, i }) =>
      call('POST', `/v1/models/${m}/submissions?era=${era}`, author, bodies[(i * 7 + era) % bodies.length], 'text/csv'),
    );
    lap('submissions');

    const closed = await withCpu(era, 'close', () => json<{ run: { models: number } }>('POST', `/v1/eras/${era}/close`, operator));
    if (closed.body.run.models !== active.length) throw new Error(`era ${era}: the run has ${closed.body.run.models} models, expected ${active.length}`);
    record(era, 'close', closed.ms);
    lap('close');

    const uploads: number[] = [];
    for (let v = 0; v < o.versions; v++) {
      const csv = targetsCsv();
      const up = await withCpu(era, 'scoring', () => call<{ targets: unknown[] }>('PUT', `/v1/eras/${era}/targets`, operator, csv, 'text/csv'));
      if (up.body.targets.length !== o.targets) throw new Error(`era ${era}: ${up.body.targets.length} targets stored`);
      uploads.push(up.ms);
    }
    record(era, 'scoring', median(uploads));
    lap('targets');

    const resolved = await withCpu(era, 'resolve', () => json('POST', `/v1/eras/${era}/resolve`, operator));
    record(era, 'resolve', resolved.ms);
    record(era, 'leaderboard', (await withCpu(era, 'leaderboard', () => call('GET', '/v1/leaderboard', operator))).ms);
    lap('resolve and leaderboard');

    if (early.has(era) || late.has(era)) {
      const follow = era === o.eras;
      for (let r = 0; r < READS_PER_SAMPLE; r++) {
        record(era, 'modelScores', await withCpu(era, 'modelScores', () => paged('modelScores', era, `/v1/models/${watched}/scores`, operator, follow && r === 0)));
        record(era, 'performance', (await withCpu(era, 'performance', () => call('GET', `/v1/models/${watched}/performance`, operator))).ms);
        record(era, 'summary', await withCpu(era, 'summary', () => paged('summary', era, '/v1/reports/summary', operator, follow && r === 0)));
      }
      await paged('eraScores', era, `/v1/eras/${era}/scores?target=target`, operator, follow);
    }
    lap('sampled reads');

    {
      const t0 = performance.now();
      const pass = await autovacuumPass(pool);
      vacuumed.tables += pass.vacuumed;
      vacuumed.analyzed += pass.analyzed;
      vacuumMs += performance.now() - t0;
    }
    lap('vacuum and sizes');
    if (era === sizeFrom) sizesBefore = await sizes();
    lap('vacuum and sizes');
    if (era % 10 === 0 || era === o.eras) {
      log(`history: era ${era}/${o.eras}, ${active.length} models (${left} left so far), ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  const sizesAfter = await sizes();
  const span = o.eras - sizeFrom;

  // ---------------------------------------------------------------- figures
  const bytesPerEra: Record<string, number> = {};
  for (const [name, bytes] of [...sizesAfter].sort((a, b) => b[1] - a[1])) {
    const grown = (bytes - (sizesBefore?.get(name) ?? 0)) / Math.max(1, span);
    if (name === '(database)' || Math.abs(grown) >= 1) bytesPerEra[name] = Math.round(grown);
  }
  const databaseBytesPerEra = bytesPerEra['(database)'];
  delete bytesPerEra['(database)'];
  const bench = { models: o.models, ids: o.ids, targets: o.targets, versions: o.versions };
  const information = (s: typeof bench) => 2 * s.ids * s.models + 8 * s.ids * s.targets * s.versions + 16 * s.models * s.targets * s.versions;
  const informationPerEra = information(bench);

  const byTable: Record<string, number> = {};
  let perEraAtScale = 0;
  for (const [name, bytes] of Object.entries(bytesPerEra)) {
    const unit = unitOf(name);
    const scaled = Math.max(0, bytes) * (unitCount(unit, NUMERAI) / unitCount(unit, bench));
    byTable[name] = Math.round(scaled);
    perEraAtScale += scaled;
  }
  const tablesPerEra = Object.values(bytesPerEra).reduce((a, b) => a + Math.max(0, b), 0);
  // The rest of the database's growth (catalog, free space maps, WAL-less overhead) scaled with the tables.
  const databaseAtScale = tablesPerEra > 0 ? (perEraAtScale * Math.max(databaseBytesPerEra, tablesPerEra)) / tablesPerEra : perEraAtScale;

  const growth: Record<string, number> = {};
  const earlyMs: Record<string, number> = {};
  const lateMs: Record<string, number> = {};
  const growthCpu: Record<string, number | null> = {};
  const earlyCpuMs: Record<string, number> = {};
  const lateCpuMs: Record<string, number> = {};
  for (const phase of ['resolve', 'close', 'scoring', 'leaderboard', 'modelScores', 'performance', 'summary'] as Phase[]) {
    earlyMs[phase] = round(median(samples.early.get(phase) ?? []));
    lateMs[phase] = round(median(samples.late.get(phase) ?? []));
    growth[phase] = round(lateMs[phase] / earlyMs[phase]);
    // CPU comes in 10 ms ticks: the mean of the samples, not the median, so short reads do not round to 0.
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    earlyCpuMs[phase] = round(mean(cpuSamples.early.get(phase) ?? []), 1);
    lateCpuMs[phase] = round(mean(cpuSamples.late.get(phase) ?? []), 1);
    growthCpu[phase] = earlyCpuMs[phase] > 0 ? round(lateCpuMs[phase] / earlyCpuMs[phase]) : null;
  }

  return {
    eras: o.eras,
    models: o.models,
    ids: o.ids,
    targets: o.targets,
    versions: o.versions,
    churnPerEra: o.churn,
    modelsEver: made,
    modelsLeft: left,
    seconds: Math.round((performance.now() - started) / 1000),
    secondsBySteps: Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(v)])),
    vacuum: `after every era, VACUUM and ANALYZE of each table past autovacuum's default thresholds (autovacuum may be off): ${vacuumed.tables} vacuums, ${vacuumed.analyzed} analyzes, ${Math.round(vacuumMs / 1000)} s in all`,
    retention: `a retention pass at most every ${HISTORY_RETENTION_INTERVAL_MS} ms (RETENTION_INTERVAL_MS), RETAIN_SUBMISSIONS_ERAS as configured (default 52)`,
    bytesPerEra,
    databaseBytesPerEra,
    sizeWindowEras: span,
    informationPerEra,
    ratioToInformation: round(databaseBytesPerEra / informationPerEra),
    growth,
    /** The same ratios on CPU (service process + this database's backends): steadier than wall time on a shared host. */
    growthCpu,
    earlyCpuMs,
    lateCpuMs,
    earlyEras: [...early],
    lateEras: [...late].sort((a, b) => a - b),
    earlyMs,
    lateMs,
    largestAnswer: largest,
    /** Answers over 256 KB that carried no `next` page (section 9.4 allows none). */
    over256KbWithoutNext: Object.entries(largest)
      .filter(([, a]) => a.bytes > 256 * 1024 && !a.next)
      .map(([name]) => name),
    numeraiYear: {
      ...NUMERAI,
      informationPerEra: information(NUMERAI),
      bytesPerEra: Math.round(databaseAtScale),
      gigabytes: round((databaseAtScale * NUMERAI.eras) / 1e9, 1),
      byTable,
      formula:
        "year = 260 × Σ_table bytesPerEra[table] × units(Numerai) ÷ units(bench), a table's units being models×ids (submissions), " +
        'models×targets×versions (scores), ids×targets×versions (targets), models×targets (era results), ids (universe) or models (the rest); ' +
        "the database's growth beyond its tables' is scaled in proportion",
    },
  };
}
