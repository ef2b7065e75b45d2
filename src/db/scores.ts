/**
 * Scores, packed (migration 0022): one score_sets row per era, target and version holding every
 * scored submission's status, CORR, MMC, stake and payout as arrays aligned to the era's score
 * order (score_orders: the submissions in the order they were first scored). An era's 20 targets
 * × 20 versions × 10,000 models are 400 rows, not 4 M.
 *
 * Writes: a scoring pass locks the era's order row, appends the submissions it has not seen and
 * writes each set in one statement; on an existing set (a re-score, or a late submission scored on
 * arrival) the positions scored now replace theirs and the others stay, so a late submission is
 * appended to the packed rows under the order's row lock (and the era row lock every scoring
 * writer holds) rather than kept in a side table: one layout for every reader, at the price of
 * rewriting the era's latest sets for each late submission, which are few.
 *
 * Reads: an era's scores on one version and what resolution and bundles read go through the view
 * "scores" (one row per submission, target and version, as the table was), filtered by era so
 * that only that era's sets are unpacked. One model's scores are read by its position in each
 * era's order, a page of eras at a time.
 */
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Executor } from './client.js';

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
           left join run_inputs ri on ri.run_id = $2 and ri.era_number = $1 and ri.model_id = s.model_id and ri.submission_id = s.id
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

/**
 * The era's score order, locked (FOR UPDATE) until the transaction ends: the submissions
 * scored in the era, each at its position (0-based). Made empty when the era has none yet.
 */
export async function lockScoreOrder(executor: Executor, era: number): Promise<string[]> {
  await executor.execute(sql`insert into score_orders (era_number, submission_ids, model_ids, lates) values (${era}, '{}', '{}', '{}') on conflict do nothing`);
  const { rows } = await executor.execute<{ ids: string[] }>(sql`select submission_ids::text[] as ids from score_orders where era_number = ${era} for update`);
  return rows[0].ids;
}

/** Appends submissions, their models and their lateness to the era's score order: they take the next positions. */
export async function extendScoreOrder(
  executor: Executor,
  era: number,
  added: { ids: readonly string[]; models: readonly string[]; lates: readonly boolean[] },
): Promise<void> {
  if (added.ids.length === 0) return;
  await executor.execute(sql`
    update score_orders set submission_ids = submission_ids || ${sql.param([...added.ids])}::uuid[],
                            model_ids = model_ids || ${sql.param([...added.models])}::uuid[],
                            lates = lates || ${sql.param([...added.lates])}::boolean[]
    where era_number = ${era}`);
}

/**
 * The scores of one version of one target, one entry per position of the era's score order
 * (as long as the order): a null status where this pass scored no submission.
 */
export interface ScoreSet {
  target: string;
  version: number;
  statuses: (string | null)[];
  corrs: (number | null)[];
  mmcs: (number | null)[];
  stakes: (string | null)[];
  /** payout factor (the shortest round-trip text of the float), null where the position pays nothing */
  factors: (string | null)[];
}

/**
 * Writes one set in one statement. The payout is stake × factor in numeric. When the set is
 * there already (a re-score of the same version, a late submission), the positions scored now
 * replace theirs and the others keep what they hold.
 */
export function writeScoreSet(executor: Executor, era: number, runId: string, set: ScoreSet): Promise<unknown> {
  return executor.execute(sql`
    insert into score_sets (era_number, target, target_version, run_id, statuses, corrs, mmcs, stakes, payouts)
    select ${era}, ${set.target}, ${set.version}, ${runId}, n.statuses, n.corrs, n.mmcs, n.stakes,
           array(select trim_scale(round(u.stake * u.factor, ${sql.raw(String(PAYOUT_SCALE))}))
                 from unnest(n.stakes, n.factors) with ordinality as u(stake, factor, k) order by u.k)
    from (select ${sql.param(set.statuses)}::text[] as statuses, ${sql.param(set.corrs)}::float8[] as corrs,
                 ${sql.param(set.mmcs)}::float8[] as mmcs, ${sql.param(set.stakes)}::numeric[] as stakes,
                 ${sql.param(set.factors)}::numeric[] as factors) n
    -- (array_agg of no rows is null: an era scored before it had any submission keeps empty arrays)
    on conflict (era_number, target, target_version) do update set
      run_id = excluded.run_id, computed_at = now(),
      (statuses, corrs, mmcs, stakes, payouts) = (
        select coalesce(array_agg(case when u.status is null then u.was_status else u.status end order by u.k), '{}'),
               coalesce(array_agg(case when u.status is null then u.was_corr else u.corr end order by u.k), '{}'),
               coalesce(array_agg(case when u.status is null then u.was_mmc else u.mmc end order by u.k), '{}'),
               coalesce(array_agg(case when u.status is null then u.was_stake else u.stake end order by u.k), '{}'),
               coalesce(array_agg(case when u.status is null then u.was_payout else u.payout end order by u.k), '{}')
        from unnest(excluded.statuses, excluded.corrs, excluded.mmcs, excluded.stakes, excluded.payouts,
                    score_sets.statuses, score_sets.corrs, score_sets.mmcs, score_sets.stakes, score_sets.payouts)
          with ordinality as u(status, corr, mmc, stake, payout, was_status, was_corr, was_mmc, was_stake, was_payout, k))`);
}

/**
 * A late submission replaced since it was scored keeps no score: clears the positions of the
 * era's superseded submissions (of one model's, when `modelOfSubmission` names a submission of
 * it) in every set of the era that still holds a score there.
 */
export async function deleteSupersededScores(executor: Executor, era: number, modelOfSubmission?: string): Promise<void> {
  const { rows } = await executor.execute<{ k: number }>(sql`
    select u.k::int as k
    from score_orders o cross join lateral unnest(o.submission_ids) with ordinality as u(id, k)
    join submissions s on s.era_number = o.era_number and s.id = u.id
    where o.era_number = ${era} and s.superseded
      ${modelOfSubmission === undefined ? sql`` : sql`and s.model_id = (select model_id from submissions where era_number = ${era} and id = ${modelOfSubmission})`}`);
  if (rows.length === 0) return;
  const gone = sql.param(rows.map((row) => row.k));
  const kept = (column: string) => sql`coalesce(array_agg(case when u.k = any(${gone}::int[]) then null else u.${sql.raw(column)} end order by u.k), '{}')`;
  await executor.execute(sql`
    update score_sets set (statuses, corrs, mmcs, stakes, payouts) = (
      select ${kept('status')}, ${kept('corr')}, ${kept('mmc')}, ${kept('stake')}, ${kept('payout')}
      from unnest(statuses, corrs, mmcs, stakes, payouts) with ordinality as u(status, corr, mmc, stake, payout, k))
    where era_number = ${era} and exists (select 1 from unnest(${gone}::int[]) as g(k) where statuses[g.k] is not null)`);
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
    select p.model_id as "modelId", m.name as model, p.id as "submissionId", p.late, v.status,
           v.corr, v.mmc, v.stake::text as stake, v.payout::text as payout
    from score_sets ss
    -- Each array unnested once (a subscript per row would detoast the whole array each time).
    cross join lateral unnest(ss.statuses, ss.corrs, ss.mmcs, ss.stakes, ss.payouts) with ordinality as v(status, corr, mmc, stake, payout, k)
    join (${placedSubmissions([era])}) p on p.era = ss.era_number and p.k = v.k
    join models m on m.id = p.model_id
    where ss.era_number = ${era} and ss.target = ${target} and ss.target_version = ${version} and v.status is not null
      ${after === undefined ? sql`` : sql`and (p.late, m.name) > (${after.late}, ${after.model})`}
    order by p.late, m.name
    limit ${page.limit}`);
  return rows;
}

/**
 * The scored submissions in the eras `eras` (values, so that only those eras' partitions of
 * submissions are planned), of one model when `modelId` is given, each with its model, lateness
 * and position in the era's score order (1-based, as SQL arrays count), all read from the score
 * order: an era whose submissions were archived keeps its scores readable. A submission
 * superseded after it was scored has its positions cleared in every set
 * (deleteSupersededScores), and is left out here while its row remains: the readers keep the
 * positions with a score.
 */
function placedSubmissions(eras: readonly number[], modelId?: string) {
  const inEras = sql`${sql.param([...eras])}::int[]`;
  return sql`
    select o.era_number as era, u.id, u.model_id, u.late, u.k::int as k
    from score_orders o cross join lateral unnest(o.submission_ids, o.model_ids, o.lates) with ordinality as u(id, model_id, late, k)
    where o.era_number = any(${inEras}) and u.late is not null ${modelId === undefined ? sql`` : sql`and u.model_id = ${modelId}`}
      and not exists (select 1 from submissions s where s.era_number = any(${inEras}) and s.era_number = o.era_number and s.id = u.id and s.superseded)`;
}

/**
 * The eras in which a model has current scores, newest first: at most `limit`, before era
 * `before` when given, and how many score rows each holds (one per target and lateness). The
 * eras whose score order names the model come from the GIN index on score_orders.model_ids
 * (migration 0024); they are counted `limit` at a time, named as values so that only those
 * eras' partitions of submissions are planned and read, until the page is full.
 */
export async function erasWithScores(executor: Executor, modelId: string, page: { limit: number; before?: number }) {
  const { rows: candidates } = await executor.execute<{ era: number }>(sql`
    select era_number as era from score_orders
    where model_ids @> array[${modelId}::uuid] ${page.before === undefined ? sql`` : sql`and era_number < ${page.before}`}
    order by era_number desc`);
  const counted: { era: number; rows: number }[] = [];
  for (let at = 0; at < candidates.length && counted.length < page.limit; at += page.limit) {
    const eras = candidates.slice(at, at + page.limit).map((c) => c.era);
    const { rows } = await executor.execute<{ era: number; rows: number }>(sql`
      select p.era, count(distinct (ss.target, p.late))::int as rows
      from (${placedSubmissions(eras, modelId)}) p
      join score_sets ss on ss.era_number = p.era and ss.statuses[p.k] is not null
      group by p.era
      order by p.era desc`);
    counted.push(...rows);
  }
  return counted.slice(0, page.limit);
}

/** One model's current scores (on the latest version of each target) in the given eras, newest era first. */
export async function currentScoresOfModel(executor: Executor, modelId: string, eras: readonly number[]) {
  const { rows } = await executor.execute<ServedScoreRow & { era: number; target: string; version: number; computedAt: string }>(sql`
    select distinct on (ss.era_number, ss.target, p.late)
           ss.era_number as era, ss.target, ss.target_version as version, p.model_id as "modelId", m.name as model,
           p.id as "submissionId", p.late, ss.statuses[p.k] as status, ss.corrs[p.k] as corr, ss.mmcs[p.k] as mmc,
           ss.stakes[p.k]::text as stake, ss.payouts[p.k]::text as payout, ss.computed_at as "computedAt"
    from (${placedSubmissions(eras, modelId)}) p
    join score_sets ss on ss.era_number = p.era and ss.statuses[p.k] is not null
    join models m on m.id = p.model_id
    order by ss.era_number desc, ss.target, p.late, ss.target_version desc`);
  // Raw queries through drizzle hand timestamps over as text.
  return rows.map((row) => ({ ...row, computedAt: new Date(row.computedAt) }));
}

/** One model's score on every version of one target of one era, oldest version first. */
export async function scoreHistory(executor: Executor, modelId: string, era: number, target: string) {
  const { rows } = await executor.execute<{ version: number; uploadedAt: string; late: boolean; status: string; corr: number | null; mmc: number | null }>(sql`
    select ss.target_version as version, t.uploaded_at as "uploadedAt", p.late, ss.statuses[p.k] as status, ss.corrs[p.k] as corr, ss.mmcs[p.k] as mmc
    from (${placedSubmissions([era], modelId)}) p
    join score_sets ss on ss.era_number = p.era and ss.target = ${target} and ss.statuses[p.k] is not null
    join targets t on t.era_number = ss.era_number and t.name = ss.target and t.version = ss.target_version
    order by p.late, ss.target_version`);
  return rows.map((row) => ({ ...row, uploadedAt: new Date(row.uploadedAt) }));
}

/**
 * The score rows resolution pays: on-time current submissions scored on the latest version of
 * the era's main target, with a payout. Columns model_id and payout.
 */
export function payingScores(era: number, mainTarget: string) {
  return sql`
    select sc.model_id, sc.payout, sc.stake, sc.corr, sc.mmc from scores sc join submissions s on s.era_number = ${era} and s.id = sc.submission_id
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
