import { sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { LOCK_KEY } from './locks.js';

/** Columns of a resolved era's own results: one row per target and model that took part. */
type OwnResults = ReturnType<typeof sql>;

/**
 * An era's score of one row (`alias` has corr and mmc, `e` is its era): its multipliers' sum of
 * CORR and MMC, when both exist (as domain/scoring.ts computes it), else null.
 */
const eraScore = (alias: 'sc' | 'r') =>
  sql.raw(`case when ${alias}.corr is not null and ${alias}.mmc is not null
                then e.corr_multiplier::float8 * ${alias}.corr + e.mmc_multiplier::float8 * ${alias}.mmc end`);

/**
 * The era's own results, from its scores: per target and model with an on-time current
 * submission scored on the latest version of the target, its scores, the era's score (both
 * needed) and the at-risk stake and payout on the main target. Read from the packed sets, each
 * array unnested once and joined by position (a subscript per row would detoast the whole array
 * each time, and joining the unpacked view to itself by submission compared every row with
 * every other: minutes at 10,000 models).
 */
function scoredResults(era: { number: number; mainTarget: string }): OwnResults {
  return sql`
    with latest as (select name, max(version) as version from targets where era_number = ${era.number} group by name),
    latest_sets as (
      select ss.* from score_sets ss join latest l on l.name = ss.target and l.version = ss.target_version
      where ss.era_number = ${era.number}),
    main as (
      select v.k, v.stake, v.payout from latest_sets ss
      cross join lateral unnest(ss.statuses, ss.stakes, ss.payouts) with ordinality as v(status, stake, payout, k)
      where ss.target = ${era.mainTarget} and v.status is not null),
    sc as (
      select ss.target, v.k, v.corr, v.mmc from latest_sets ss
      cross join lateral unnest(ss.statuses, ss.corrs, ss.mmcs) with ordinality as v(status, corr, mmc, k)
      where v.status is not null)
    select sc.target, o.model_id, sc.corr, sc.mmc,
           ${eraScore('sc')} as score,
           main.stake, main.payout
    from sc
    join (select u.id, u.model_id, u.k from score_orders so cross join lateral unnest(so.submission_ids, so.model_ids) with ordinality as u(id, model_id, k)
          where so.era_number = ${era.number}) o on o.k = sc.k
    left join main on main.k = sc.k
    -- The era named: submissions is partitioned by era, so one partition is read, not every era's.
    join submissions s on s.era_number = ${era.number} and s.id = o.id and not s.late and not s.superseded
    join eras e on e.number = ${era.number}`;
}

/**
 * The results already recorded for an era (when an earlier era resolves after it), with its
 * per-era score recomputed exactly as scoredResults computes it. Its targets come from the
 * era's targets, so each is one range of the (target, era_number) index.
 */
function recordedResults(era: number): OwnResults {
  return sql`
    select r.target, r.model_id, r.corr, r.mmc,
           ${eraScore('r')} as score,
           r.stake, r.payout
    from (select distinct name from targets where era_number = ${era}) t
    join model_era_results r on r.target = t.name and r.era_number = ${era}
    join eras e on e.number = r.era_number`;
}

/**
 * Writes an era's rows: each model that took part, with its running totals built on its latest
 * row before this era (one primary-key seek per model and target; nothing is read or written
 * for models that did not take part). One insert, each row once; `replace` (an era recomputed
 * after an earlier one resolved late) overwrites its totals.
 */
async function writeEra(executor: Executor, era: number, own: OwnResults, replace: boolean): Promise<void> {
  await executor.execute(sql`
    with cur as (${own})
    insert into model_era_results
      (era_number, scored_eras, corr, mmc, corr_total, mmc_total, score_total, model_id, target, stake, payout)
    select ${era},
           coalesce(p.scored_eras, 0) + case when cur.score is null then 0 else 1 end,
           cur.corr, cur.mmc,
           coalesce(p.corr_total, 0) + case when cur.score is null then 0 else cur.corr end,
           coalesce(p.mmc_total, 0) + case when cur.score is null then 0 else cur.mmc end,
           coalesce(p.score_total, 0) + coalesce(cur.score, 0),
           cur.model_id, cur.target, cur.stake, cur.payout
    from cur
    left join lateral (
      select x.scored_eras, x.corr_total, x.mmc_total, x.score_total from model_era_results x
      where x.target = cur.target and x.model_id = cur.model_id and x.era_number < ${era}
      order by x.era_number desc limit 1) p on true
    ${replace
      ? sql`on conflict (target, model_id, era_number) do update set
          scored_eras = excluded.scored_eras, corr_total = excluded.corr_total, mmc_total = excluded.mmc_total,
          score_total = excluded.score_total`
      : sql``}`);
}

/**
 * Records a resolving era in model_era_results, in the resolution's transaction (after the era
 * is marked resolved), building on each model's latest earlier row. An era resolved out of
 * order (after later ones) also rewrites the totals of each later resolved era, in order.
 * Resolutions take a lock so totals build on committed ones.
 */
export async function recordResolvedEra(executor: Executor, era: { number: number; mainTarget: string }): Promise<void> {
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY.results})`);
  const { rows } = await executor.execute<{ number: number }>(sql`
    select number from eras where resolved_at is not null and number >= ${era.number} order by number`);
  for (const { number } of rows) {
    const own = number === era.number ? scoredResults(era) : recordedResults(number);
    await writeEra(executor, number, own, number !== era.number);
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
    where target = ${target} and model_id = ${modelId}
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
 * before `first`): each model's totals at `last` minus those at `before` (a model's totals as of
 * an era are those of its latest row up to it), over the eras with both scores; every model
 * with such an era, ranked by score, highest first, ties by model name (bytewise). Reads the
 * window's rows (one index range: rows exist only for resolved eras, so the eras after `before`
 * up to `last` are the window's), one primary-key seek per model for its totals at `before`,
 * and one sort: bounded by the window, not by history.
 */
export async function rankedStanding(executor: Executor, target: string, window: { last: number; before: number | null }): Promise<StandingRow[]> {
  const { rows } = await executor.execute<StandingRow>(sql`
    with latest as (
      select distinct on (model_id) model_id, scored_eras, corr_total, mmc_total, score_total, stake
      from model_era_results
      where target = ${target} and era_number > ${window.before ?? -1} and era_number <= ${window.last}
      order by model_id, era_number desc),
    standing as (
      select l.model_id,
             l.scored_eras - coalesce(b.scored_eras, 0) as eras,
             l.corr_total - coalesce(b.corr_total, 0) as corr,
             l.mmc_total - coalesce(b.mmc_total, 0) as mmc,
             l.score_total - coalesce(b.score_total, 0) as score,
             l.stake
      from latest l
      left join lateral (
        select x.scored_eras, x.corr_total, x.mmc_total, x.score_total from model_era_results x
        where x.target = ${target} and x.model_id = l.model_id and x.era_number <= ${window.before ?? -1}
        order by x.era_number desc limit 1) b on true)
    select m.name as model, s.eras, s.corr / s.eras as "corrRep", s.mmc / s.eras as "mmcRep", s.score / s.eras as score,
           s.stake::text as stake
    from standing s join models m on m.id = s.model_id
    where s.eras > 0
    order by s.score / s.eras desc, m.name collate "C"`);
  return rows;
}
