import { sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Executor } from './client.js';
import { BinaryCopyWriter, copyBinaryIn, uuidBytes } from './copy-in.js';

/** Payouts are exact decimals: stake × factor rounded half away from zero to this many places. */
export const PAYOUT_SCALE = 10;

/** A current submission of an era as scoring reads it. */
export interface SubmissionToScore {
  id: string;
  model_id: string;
  late: boolean;
  ranks: Buffer;
  /** at-risk stake in the closing run, null when the submission is not one of its inputs */
  stake: string | null;
}

const CURSOR = 'submissions_to_score';

/**
 * Opens a cursor over the era's current submissions (on-time and late), or only submission
 * `only`, with each one's at-risk stake in the closing run. Inside a transaction on `client`.
 */
export async function openSubmissionsToScore(client: pg.PoolClient, era: number, closingRun: string, only?: string): Promise<void> {
  await client.query({
    text: `declare ${CURSOR} no scroll cursor for
           select s.id, s.model_id, s.late, s.ranks, ri.stake::text as stake
           from submissions s
           left join run_inputs ri on ri.run_id = $2 and ri.model_id = s.model_id and ri.submission_id = s.id
           where s.era_number = $1 and not s.superseded ${only === undefined ? '' : 'and s.id = $3'}`,
    values: only === undefined ? [era, closingRun] : [era, closingRun, only],
  });
}

/** The next `size` rows of the cursor; fewer means it is done. */
export async function fetchSubmissionsToScore(client: pg.PoolClient, size: number): Promise<SubmissionToScore[]> {
  const { rows } = await client.query<SubmissionToScore>(`fetch ${size} from ${CURSOR}`);
  return rows;
}

export async function closeSubmissionsToScore(client: pg.PoolClient): Promise<void> {
  await client.query(`close ${CURSOR}`);
}

/** Score rows column by column, as one multi-row upsert takes them. */
export interface ScoreColumns {
  targets: string[];
  versions: number[];
  submissionIds: string[];
  modelIds: string[];
  statuses: string[];
  corrs: (number | null)[];
  mmcs: (number | null)[];
  stakes: (string | null)[];
  /** payout factor (the shortest round-trip text of the float), null when the row pays nothing */
  factors: (string | null)[];
}

export function emptyScoreColumns(): ScoreColumns {
  return { targets: [], versions: [], submissionIds: [], modelIds: [], statuses: [], corrs: [], mmcs: [], stakes: [], factors: [] };
}

/**
 * Writes score rows (one per submission, target and version) in one statement; a row already
 * there (a re-score of the same version) is replaced. The payout is stake × factor in numeric.
 */
export function writeScores(executor: Executor, era: number, runId: string, rows: ScoreColumns): Promise<unknown> {
  return executor.execute(sql`
    insert into scores (submission_id, target, target_version, era_number, model_id, run_id, status, corr, mmc, stake, payout)
    select u.submission_id, u.target, u.version, ${era}, u.model_id, ${runId}, u.status, u.corr, u.mmc, u.stake,
           trim_scale(round(u.stake * u.factor, ${sql.raw(String(PAYOUT_SCALE))}))
    from unnest(${sql.param(rows.targets)}::text[], ${sql.param(rows.versions)}::int[], ${sql.param(rows.submissionIds)}::uuid[],
                ${sql.param(rows.modelIds)}::uuid[], ${sql.param(rows.statuses)}::text[], ${sql.param(rows.corrs)}::float8[],
                ${sql.param(rows.mmcs)}::float8[], ${sql.param(rows.stakes)}::numeric[], ${sql.param(rows.factors)}::numeric[])
      as u(target, version, submission_id, model_id, status, corr, mmc, stake, factor)
    on conflict (submission_id, target, target_version) do update set
      run_id = excluded.run_id, status = excluded.status, corr = excluded.corr, mmc = excluded.mmc,
      stake = excluded.stake, payout = excluded.payout, computed_at = now()`);
}

/**
 * Score rows that pay nothing (no stake, no payout) on target versions stored in the current
 * transaction, so that no row of theirs exists yet: written with one binary COPY per batch
 * instead of an upsert. The bulk of a many-target upload's rows go this way.
 */
export class NewScoreRows {
  readonly #writer = new BinaryCopyWriter();
  readonly #era: number;
  readonly #run: Buffer;
  // A submission's rows come one after another (one per target): its ids are encoded once.
  #submission: { id: string; bytes: Buffer; model: Buffer } = { id: '', bytes: Buffer.alloc(0), model: Buffer.alloc(0) };
  readonly #targets = new Map<string, Buffer>();

  constructor(era: number, runId: string) {
    this.#era = era;
    this.#run = uuidBytes(runId);
  }

  get size(): number {
    return this.#writer.rows;
  }

  add(submissionId: string, modelId: string, target: string, version: number, status: string, corr: number | null, mmc: number | null): void {
    if (this.#submission.id !== submissionId) this.#submission = { id: submissionId, bytes: uuidBytes(submissionId), model: uuidBytes(modelId) };
    let name = this.#targets.get(target);
    if (name === undefined) this.#targets.set(target, (name = Buffer.from(target, 'utf8')));
    this.#writer
      .row(9)
      .field(this.#submission.bytes)
      .field(name)
      .int4(version)
      .int4(this.#era)
      .field(this.#submission.model)
      .field(this.#run)
      .text(status)
      .float8(corr)
      .float8(mmc);
  }

  /**
   * Writes the rows in one COPY (stake and payout null, computed_at now(), as the upsert leaves
   * them). A row already there fails it on the primary key, as it should.
   */
  write(client: pg.PoolClient): Promise<number> {
    return copyBinaryIn(client, 'scores (submission_id, target, target_version, era_number, model_id, run_id, status, corr, mmc)', this.#writer);
  }
}

/**
 * A late submission replaced since it was scored keeps no score: removes the scores of the
 * era's superseded submissions (of one model's, when `modelOfSubmission` names a submission of it).
 */
export async function deleteSupersededScores(executor: Executor, era: number, modelOfSubmission?: string): Promise<void> {
  await executor.execute(sql`
    delete from scores sc using submissions s
    where s.id = sc.submission_id and sc.era_number = ${era} and s.superseded
      ${modelOfSubmission === undefined ? sql`` : sql`and s.model_id = (select model_id from submissions where id = ${modelOfSubmission})`}`);
}

/** A served score row: the submission scored, its model (id and name) and the score. */
export type ServedScoreRow = {
  modelId: string;
  model: string;
  submissionId: string;
  late: boolean;
  status: string;
  corr: number | null;
  mmc: number | null;
  stake: string | null;
  payout: string | null;
};

const SERVED_COLUMNS = sql`sc.model_id as "modelId", m.name as model, sc.submission_id as "submissionId", s.late, sc.status,
  sc.corr, sc.mmc, sc.stake::text as stake, sc.payout::text as payout`;

/**
 * Current submissions' scores on one version of a target, on-time first, then by model name:
 * at most `limit`, after the row `after` names (a model has one current on-time and one current
 * late submission at most, so (late, model name) is a position).
 */
export async function scoresOnVersion(
  executor: Executor,
  era: number,
  target: string,
  version: number,
  page: { limit: number; after?: { late: boolean; model: string } },
): Promise<ServedScoreRow[]> {
  const { after } = page;
  const { rows } = await executor.execute<ServedScoreRow>(sql`
    select ${SERVED_COLUMNS}
    from scores sc join submissions s on s.id = sc.submission_id join models m on m.id = sc.model_id
    where sc.era_number = ${era} and sc.target = ${target} and sc.target_version = ${version} and not s.superseded
      ${after === undefined ? sql`` : sql`and (s.late, m.name) > (${after.late}, ${after.model})`}
    order by s.late, m.name
    limit ${page.limit}`);
  return rows;
}

/**
 * The eras in which a model has current scores, newest first: at most `limit`, before era
 * `before` when given, and how many score rows each holds.
 */
export async function erasWithScores(executor: Executor, modelId: string, page: { limit: number; before?: number }) {
  const { rows } = await executor.execute<{ era: number; rows: number }>(sql`
    select s.era_number as era, count(distinct (sc.target, s.late))::int as rows
    from submissions s join scores sc on sc.submission_id = s.id
    where s.model_id = ${modelId} and not s.superseded ${page.before === undefined ? sql`` : sql`and s.era_number < ${page.before}`}
    group by s.era_number
    order by s.era_number desc
    limit ${page.limit}`);
  return rows;
}

/** One model's current scores (on the latest version of each target) in the given eras, newest era first. */
export async function currentScoresOfModel(executor: Executor, modelId: string, eras: readonly number[]) {
  const { rows } = await executor.execute<ServedScoreRow & { era: number; target: string; version: number; computedAt: string }>(sql`
    select distinct on (sc.era_number, sc.target, s.late)
           sc.era_number as era, sc.target, sc.target_version as version, ${SERVED_COLUMNS}, sc.computed_at as "computedAt"
    from submissions s join scores sc on sc.submission_id = s.id join models m on m.id = s.model_id
    where s.model_id = ${modelId} and not s.superseded and s.era_number = any(${sql.param([...eras])}::int[])
    order by sc.era_number desc, sc.target, s.late, sc.target_version desc`);
  // Raw queries through drizzle hand timestamps over as text.
  return rows.map((row) => ({ ...row, computedAt: new Date(row.computedAt) }));
}

/** One model's score on every version of one target of one era, oldest version first. */
export async function scoreHistory(executor: Executor, modelId: string, era: number, target: string) {
  const { rows } = await executor.execute<{ version: number; uploadedAt: string; late: boolean; status: string; corr: number | null; mmc: number | null }>(sql`
    select sc.target_version as version, t.uploaded_at as "uploadedAt", s.late, sc.status, sc.corr, sc.mmc
    from submissions s
    join scores sc on sc.submission_id = s.id and sc.target = ${target}
    join targets t on t.era_number = sc.era_number and t.name = sc.target and t.version = sc.target_version
    where s.model_id = ${modelId} and s.era_number = ${era} and not s.superseded
    order by s.late, sc.target_version`);
  return rows.map((row) => ({ ...row, uploadedAt: new Date(row.uploadedAt) }));
}

/**
 * The score rows resolution pays: on-time current submissions scored on the latest version of
 * the era's main target, with a payout. Columns model_id and payout.
 */
export function payingScores(era: number, mainTarget: string) {
  return sql`
    select sc.model_id, sc.payout, sc.stake, sc.corr, sc.mmc from scores sc join submissions s on s.id = sc.submission_id
    where sc.era_number = ${era} and sc.target = ${mainTarget} and sc.payout is not null
      and not s.late and not s.superseded
      and sc.target_version = (select max(version) from targets where era_number = ${era} and name = ${mainTarget})`;
}

/** One row resolution pays: the model (and its name), its at-risk stake, scores and payout before the ledger settles it. */
export type EraPayoutRow = {
  modelId: string;
  name: string;
  stake: string | null;
  corr: number | null;
  mmc: number | null;
  /** exact decimal, negative for a burn */
  payout: string;
};

/** What resolution pays: each paying score row's model and payout (see payingScores), by model name. */
export async function eraPayouts(executor: Executor, era: number, mainTarget: string): Promise<EraPayoutRow[]> {
  const { rows } = await executor.execute<EraPayoutRow>(sql`
    select p.model_id as "modelId", m.name, p.stake::text as stake, p.corr, p.mmc, p.payout::text as payout
    from (${payingScores(era, mainTarget)}) p join models m on m.id = p.model_id
    order by m.name`);
  return rows;
}
