import { sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { LOCK_KEY } from './locks.js';

/** How many resolved eras back a model is carried forward: the leaderboard's largest window. */
export const CARRY_ERAS = 260;

/** Columns of a resolved era's own results: one row per target and model that took part. */
type OwnResults = ReturnType<typeof sql>;

/**
 * The era's own results, from its scores: per target and model with an on-time current
 * submission scored on the latest version of the target, its scores, the era's score (both
 * needed) and the at-risk stake and payout on the main target.
 */
function scoredResults(era: { number: number; mainTarget: string }): OwnResults {
  return sql`
    with latest as (select name, max(version) as version from targets where era_number = ${era.number} group by name)
    select sc.target, sc.model_id, sc.corr, sc.mmc,
           case when sc.corr is not null and sc.mmc is not null
                then e.corr_multiplier::float8 * sc.corr + e.mmc_multiplier::float8 * sc.mmc end as score,
           main.stake, main.payout
    from scores sc
    join latest on latest.name = sc.target and latest.version = sc.target_version
    join submissions s on s.id = sc.submission_id and not s.late and not s.superseded
    join eras e on e.number = sc.era_number
    left join latest lm on lm.name = ${era.mainTarget}
    left join scores main on main.era_number = sc.era_number and main.submission_id = sc.submission_id and main.target = lm.name and main.target_version = lm.version
    where sc.era_number = ${era.number}`;
}

/** The results already recorded for an era that took part (when an earlier era resolves after it). */
function recordedResults(era: number): OwnResults {
  return sql`select target, model_id, corr, mmc, score, stake, payout from model_era_results where era_number = ${era} and took_part`;
}

/**
 * Writes an era's rows: each model that took part, with its running totals built on its row at
 * the previous resolved era (or, for a model back after a long absence, on its latest row),
 * and the models of the previous era carried forward (took_part false, same totals) while
 * their last era is one of the last CARRY_ERAS resolved ones. One insert, each row once;
 * `replace` (an era recomputed after an earlier one resolved late) overwrites its rows.
 */
async function writeEra(executor: Executor, era: number, previous: number | null, own: OwnResults, replace: boolean): Promise<void> {
  await executor.execute(sql`
    with cur as (${own}),
    horizon as (
      select coalesce((select number from eras where resolved_at is not null and number <= ${era}
                       order by number desc offset ${CARRY_ERAS - 1} limit 1), -1) as era),
    prev as (select * from model_era_results where era_number = ${previous ?? -1})
    insert into model_era_results
      (target, era_number, model_id, took_part, corr, mmc, score, stake, payout, scored_eras, corr_total, mmc_total, score_total, last_stake, last_era)
    select coalesce(cur.target, prev.target), ${era}, coalesce(cur.model_id, prev.model_id), cur.model_id is not null,
           cur.corr, cur.mmc, cur.score, cur.stake, cur.payout,
           coalesce(prev.scored_eras, back.scored_eras, 0) + case when cur.score is null then 0 else 1 end,
           coalesce(prev.corr_total, back.corr_total, 0) + case when cur.score is null then 0 else cur.corr end,
           coalesce(prev.mmc_total, back.mmc_total, 0) + case when cur.score is null then 0 else cur.mmc end,
           coalesce(prev.score_total, back.score_total, 0) + coalesce(cur.score, 0),
           case when cur.model_id is not null then cur.stake else prev.last_stake end,
           case when cur.model_id is not null then ${era} else prev.last_era end
    from cur full join prev on prev.target = cur.target and prev.model_id = cur.model_id
    left join lateral (
      select x.scored_eras, x.corr_total, x.mmc_total, x.score_total from model_era_results x
      where prev.model_id is null and x.model_id = cur.model_id and x.target = cur.target and x.took_part and x.era_number < ${era}
      order by x.era_number desc limit 1) back on true
    where cur.model_id is not null or prev.last_era >= (select era from horizon)
    ${replace
      ? sql`on conflict (era_number, target, model_id) do update set
          scored_eras = excluded.scored_eras, corr_total = excluded.corr_total, mmc_total = excluded.mmc_total,
          score_total = excluded.score_total, last_stake = excluded.last_stake, last_era = excluded.last_era`
      : sql``}`);
}

/**
 * Records a resolving era in model_era_results, in the resolution's transaction (after the era
 * is marked resolved), from the previous resolved era's rows only. An era resolved out of order
 * (after later ones) also rewrites the totals of each later resolved era, in order. Resolutions
 * take a lock so totals build on committed ones.
 */
export async function recordResolvedEra(executor: Executor, era: { number: number; mainTarget: string }): Promise<void> {
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY.results})`);
  const { rows } = await executor.execute<{ number: number; previous: number | null }>(sql`
    select number, lag(number) over (order by number) as previous
    from eras where resolved_at is not null and number >= coalesce(
      (select max(number) from eras where resolved_at is not null and number < ${era.number}), ${era.number})
    order by number`);
  for (const { number, previous } of rows) {
    if (number < era.number) continue;
    const own = number === era.number ? scoredResults(era) : recordedResults(number);
    await writeEra(executor, number, previous, own, number !== era.number);
  }
}

export type ResultRow = {
  era: number;
  corr: number | null;
  mmc: number | null;
  stake: string | null;
  payout: string | null;
};

/** A model's per-era results on one target over the resolved eras it took part in, in era order, and its payout sums (one round trip). */
export async function modelResults(executor: Executor, modelId: string, target: string) {
  const { rows } = await executor.execute<ResultRow & { totalPayout: string | null; totalStake: string | null }>(sql`
    select era_number as era, corr, mmc, stake::text as stake, payout::text as payout,
           coalesce(sum(payout) over (), 0)::text as "totalPayout",
           coalesce(sum(stake) filter (where payout is not null) over (), 0)::text as "totalStake"
    from model_era_results
    where model_id = ${modelId} and target = ${target} and took_part
    order by era_number`);
  return {
    rows: rows.map(({ totalPayout: _p, totalStake: _s, ...row }) => row),
    totalPayout: rows[0]?.totalPayout ?? '0',
    totalStake: rows[0]?.totalStake ?? '0',
  };
}

/**
 * The leaderboard's window: the last `size` resolved eras by number, ascending; the resolved era
 * before them; and `resolved`, a fingerprint of the set of resolved eras (how many, and the
 * latest resolution time), all read in one statement, so from one snapshot.
 */
export async function leaderboardWindow(executor: Executor, size: number): Promise<{ eras: number[]; before: number | null; resolved: string }> {
  const { rows } = await executor.execute<{ eras: number[] | null; before: number | null; resolved: string }>(sql`
    with resolved as (select number, resolved_at from eras where resolved_at is not null),
    w as (select number from resolved order by number desc limit ${size})
    select (select array_agg(number order by number) from w) as eras,
           (select max(number) from resolved where number < (select min(number) from w)) as before,
           (select count(*)::text || '@' || coalesce(extract(epoch from max(resolved_at))::text, '-') from resolved) as resolved`);
  return { eras: rows[0].eras ?? [], before: rows[0].before, resolved: rows[0].resolved };
}

export type StandingRow = {
  model: string;
  eras: number;
  corrRep: number;
  mmcRep: number;
  score: number;
  stake: string | null;
};

/**
 * Reputation over the window eras `first`..`last` (resolved eras, `before` the resolved era
 * before `first`): each model's totals at `last` minus those at `before`, over the eras with
 * both scores; every model with such an era, ranked by score, highest first, ties by model
 * name (bytewise). Two index range scans of the running totals (one seek more per model
 * missing at `before`) and one sort.
 */
export async function rankedStanding(executor: Executor, target: string, window: { last: number; before: number | null }): Promise<StandingRow[]> {
  const { rows } = await executor.execute<StandingRow>(sql`
    with standing as (
      select r.model_id,
             r.scored_eras - coalesce(b.scored_eras, back.scored_eras, 0) as eras,
             r.corr_total - coalesce(b.corr_total, back.corr_total, 0) as corr,
             r.mmc_total - coalesce(b.mmc_total, back.mmc_total, 0) as mmc,
             r.score_total - coalesce(b.score_total, back.score_total, 0) as score,
             r.last_stake
      from model_era_results r
      left join model_era_results b on b.era_number = ${window.before ?? -1} and b.target = r.target and b.model_id = r.model_id
      -- A model no longer carried at the era before the window (absent for CARRY_ERAS eras): its totals as of its latest era up to then.
      left join lateral (
        select x.scored_eras, x.corr_total, x.mmc_total, x.score_total from model_era_results x
        where b.model_id is null and x.model_id = r.model_id and x.target = r.target and x.took_part and x.era_number <= ${window.before ?? -1}
        order by x.era_number desc limit 1) back on true
      where r.era_number = ${window.last} and r.target = ${target})
    select m.name as model, s.eras, s.corr / s.eras as "corrRep", s.mmc / s.eras as "mmcRep", s.score / s.eras as score,
           s.last_stake::text as stake
    from standing s join models m on m.id = s.model_id
    where s.eras > 0
    order by s.score / s.eras desc, m.name collate "C"`);
  return rows;
}
