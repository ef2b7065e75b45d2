import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { eraReportPoints, eras, metaModelRuns, policies, policyCosts, policyCostTotals } from './schema.js';
import { latestTargets } from './targets.js';
import { LOCK_CLASS } from './locks.js';
import { withNameRecords } from '../domain/records.js';

export interface StoredCost {
  target: string;
  runId: string;
  unconstrained: number | null;
  traded: number | null;
  cost: number | null;
  byRule: { ruleId: string; action?: string; cost: number | null }[];
}

/** Stored report figures: per-run figures, per era and target policy costs with running totals, and the summary's points. */

/** The latest run of an era with what a report needs from it. */
export async function latestReportRun(executor: Executor, era: number) {
  const [run] = await executor
    .select({
      id: metaModelRuns.id,
      seq: metaModelRuns.seq,
      trigger: metaModelRuns.trigger,
      computedAt: metaModelRuns.computedAt,
      totalStake: metaModelRuns.totalStake,
      report: metaModelRuns.report,
      policyReport: metaModelRuns.policyReport,
      policyDocument: policies.document,
    })
    .from(metaModelRuns)
    .leftJoin(policies, eq(policies.id, metaModelRuns.policyId))
    .where(eq(metaModelRuns.eraNumber, era))
    .orderBy(desc(metaModelRuns.seq))
    .limit(1);
  // Stored figures are keyed by names from data (sectors, tags, attributes, targets): read them as null-prototype records.
  return run ? { ...run, report: withNameRecords(run.report), policyReport: withNameRecords(run.policyReport) } : null;
}

export async function runReportVectors(executor: Executor, runId: string) {
  const [run] = await executor
    .select({ unconstrained: metaModelRuns.unconstrained, value: metaModelRuns.value })
    .from(metaModelRuns)
    .where(eq(metaModelRuns.id, runId));
  return run;
}

/** The latest version of each of the era's targets, in name order. */
export async function latestTargetValues(executor: Executor, era: number) {
  return (await latestTargets(executor, era)).map(({ name, values }) => ({ name, values }));
}

/** Replaces an era's cost on a target and moves the target's running totals by the difference, in one statement each. */
export async function upsertPolicyCost(executor: Executor, era: number, cost: StoredCost) {
  const [previous] = await executor
    .select({ unconstrained: policyCosts.unconstrained, traded: policyCosts.traded, cost: policyCosts.cost })
    .from(policyCosts)
    .where(and(eq(policyCosts.eraNumber, era), eq(policyCosts.target, cost.target)))
    .for('update');
  await executor
    .insert(policyCosts)
    .values({ eraNumber: era, ...cost })
    .onConflictDoUpdate({
      target: [policyCosts.eraNumber, policyCosts.target],
      set: { runId: cost.runId, unconstrained: cost.unconstrained, traded: cost.traded, cost: cost.cost, byRule: cost.byRule, computedAt: sql`now()` },
    });
  // An era counts towards a target's totals while its cost is defined.
  const counted = (c: { cost: number | null } | undefined) => (c !== undefined && c.cost !== null ? 1 : 0);
  const part = (c: { unconstrained: number | null; traded: number | null; cost: number | null } | undefined, key: 'unconstrained' | 'traded' | 'cost') =>
    c === undefined || c.cost === null ? 0 : (c[key] ?? 0);
  await executor
    .insert(policyCostTotals)
    .values({
      target: cost.target,
      eras: counted(cost) - counted(previous),
      unconstrained: part(cost, 'unconstrained') - part(previous, 'unconstrained'),
      traded: part(cost, 'traded') - part(previous, 'traded'),
      cost: part(cost, 'cost') - part(previous, 'cost'),
    })
    .onConflictDoUpdate({
      target: policyCostTotals.target,
      set: {
        eras: sql`${policyCostTotals.eras} + excluded.eras`,
        unconstrained: sql`${policyCostTotals.unconstrained} + excluded.unconstrained`,
        traded: sql`${policyCostTotals.traded} + excluded.traded`,
        cost: sql`${policyCostTotals.cost} + excluded.cost`,
      }
    });
}

export async function policyCostsOf(executor: Executor, era: number): Promise<StoredCost[]> {
  return executor
    .select({ target: policyCosts.target, runId: policyCosts.runId, unconstrained: policyCosts.unconstrained, traded: policyCosts.traded, cost: policyCosts.cost, byRule: policyCosts.byRule })
    .from(policyCosts)
    .where(eq(policyCosts.eraNumber, era))
    .orderBy(asc(policyCosts.target));
}

export async function policyCostTotalsAll(executor: Executor) {
  return executor.select().from(policyCostTotals).orderBy(asc(policyCostTotals.target));
}

export async function upsertSummaryPoint(executor: Executor, era: number, runId: string, totalStake: string, point: unknown) {
  await executor
    .insert(eraReportPoints)
    .values({ eraNumber: era, runId, totalStake, point })
    .onConflictDoUpdate({ target: eraReportPoints.eraNumber, set: { runId, totalStake, point, updatedAt: sql`now()` } });
}

/**
 * A page of the summary, newest first: up to `count` points of eras below `before` (every era
 * when null), each with its total stake minus the previous point's (exact, in numeric). Reads
 * `count` rows through the primary key whatever the history; callers ask for one more than they
 * show, so the last row both says a next page exists and gives the previous era for the change.
 */
export async function summaryPoints(executor: Executor, before: number | null, count: number) {
  const { rows } = await executor.execute<{ era: number; point: unknown; totalStakeChange: string | null }>(sql`
    select era, point, "totalStakeChange" from (
      select p.era_number as era, p.point,
             trim_scale(p.total_stake - lag(p.total_stake) over (order by p.era_number))::text as "totalStakeChange"
      from (
        select era_number, point, total_stake from ${eraReportPoints}
        where ${before === null ? sql`true` : sql`era_number < ${before}`}
        order by era_number desc limit ${count}
      ) p
    ) windowed
    order by era desc`);
  return rows.map((row) => ({ ...row, point: withNameRecords(row.point) }));
}

/** A run's stored vectors and policy, for figures of runs made before figures were stored with them. */
export async function runForFigures(executor: Executor, runId: string) {
  const [run] = await executor
    .select({
      totalStake: metaModelRuns.totalStake,
      tradable: metaModelRuns.tradable,
      unconstrained: metaModelRuns.unconstrained,
      signal: metaModelRuns.signal,
      value: metaModelRuns.value,
      observedBy: metaModelRuns.observedBy,
      policyReport: metaModelRuns.policyReport,
      policyName: policies.name,
      policyVersion: policies.version,
      policyDocument: policies.document,
    })
    .from(metaModelRuns)
    .leftJoin(policies, eq(policies.id, metaModelRuns.policyId))
    .where(eq(metaModelRuns.id, runId));
  return run;
}

/** The transaction lock one replica takes to backfill report figures; false when another replica holds it. */
export async function tryBackfillLock(executor: Executor): Promise<boolean> {
  const { rows } = await executor.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${LOCK_CLASS.reportBackfill}, 0) as locked`);
  return rows[0].locked;
}

/** Closed eras with no summary point yet, by number, each with its latest run and whether that run has figures. */
export async function erasWithoutPoint(executor: Executor) {
  const { rows } = await executor.execute<{ era: number; runId: string; hasReport: boolean }>(sql`
    select e.number as era, r.id as "runId", r.report is not null as "hasReport"
    from eras e
    cross join lateral (select id, report from meta_model_runs m where m.era_number = e.number order by m.seq desc limit 1) r
    where e.closed_at is not null and not exists (select 1 from era_report_points p where p.era_number = e.number)
    order by e.number`);
  return rows;
}

export async function eraClosing(executor: Executor, era: number) {
  const [row] = await executor.select({ closedAt: eras.closedAt, mainTarget: eras.mainTarget }).from(eras).where(eq(eras.number, era));
  return row ?? null;
}
