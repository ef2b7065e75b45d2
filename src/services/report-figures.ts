import { z } from 'zod';
import { boundedCache, type Cache } from '../cache.js';
import type { Database, Executor } from '../db/client.js';
import {
  eraClosing,
  erasWithoutPoint,
  latestReportRun,
  latestTargetValues,
  policyCostsOf,
  runForFigures,
  runReportVectors,
  tryBackfillLock,
  upsertPolicyCost,
  upsertSummaryPoint,
  type StoredCost,
} from '../db/reports.js';
import { runFigures, type RunFigures } from '../domain/era-report.js';
import type { PolicyRunReport } from '../domain/policy/run-report.js';
import { leaveOneOutValues, policyCost, type PolicyPart } from '../domain/policy/cost.js';
import type { PolicyDocument } from '../domain/policy/index.js';
import { decodeFloat64 } from '../domain/packed.js';
import { storedPoint } from '../domain/report-points.js';
import type { ErasService } from './eras.js';
import { storedDocument } from '../domain/policy/activation.js';
import { runInputStakes, setRunReport } from '../db/runs.js';

export type { StoredPoint } from '../domain/report-points.js';

/** Means by sector: a z.record would drop a sector named `__proto__`, so the record is checked as it is. */
const sectorMeans = z.custom<Record<string, number>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'number'),
  'expected means by sector',
);

/** The part of meta_model_runs.policy_report older runs are read for; they may lack `deciles`. */
const storedDeciles = z
  .looseObject({
    deciles: z
      .array(z.object({ decile: z.number(), models: z.number(), stake: z.number(), sectorMeans: sectorMeans.nullable() }))
      .optional(),
  })
  .nullable();

/** What the report figures need from other services: an era's universe. */
export interface ReportFiguresDeps {
  eras: Pick<ErasService, 'universeRows'>;
}

/** Leave-one-out values by run id (see `reportFiguresService`). */
type LeaveOneOutCache = Cache<string, { part: PolicyPart; value: Float64Array }[]>;

interface Context extends ReportFiguresDeps {
  leaveOneOut: LeaveOneOutCache;
}

async function withoutEach(ctx: Context, executor: Executor, run: { id: string; era: number; document: PolicyDocument | null; mode: string | undefined }, unconstrained: Float64Array) {
  // Only an enforced policy changed the traded value; without one (or in shadow mode) no part has a cost of its own.
  if (run.document === null || run.mode !== 'enforce') return [];
  const cached = ctx.leaveOneOut.get(run.id);
  if (cached) return cached;
  const computed = leaveOneOutValues(run.document, await ctx.eras.universeRows(run.era, executor), unconstrained);
  ctx.leaveOneOut.set(run.id, computed);
  return computed;
}

/** Costs on the given targets against the era's latest run, stored, then the era's point refreshed. */
async function costTargets(ctx: Context, executor: Executor, era: number, given: readonly { name: string; values: Float64Array }[]) {
  const run = await latestReportRun(executor, era);
  if (run === null) return;
  if (given.length > 0) {
    const vectors = await runReportVectors(executor, run.id);
    const unconstrained = decodeFloat64(vectors.unconstrained);
    const value = decodeFloat64(vectors.value);
    const document = run.policyDocument === null ? null : storedDocument(run.policyDocument);
    const mode = (run.policyReport as { mode?: string } | null)?.mode;
    const parts = await withoutEach(ctx, executor, { id: run.id, era, document, mode }, unconstrained);
    for (const { name, values } of given) {
      const stored: StoredCost = { target: name, runId: run.id, ...policyCost(unconstrained, value, parts, values) };
      await upsertPolicyCost(executor, era, stored);
    }
  }
  await refreshPoint(executor, era);
}

async function refreshPoint(executor: Executor, era: number) {
  const run = await latestReportRun(executor, era);
  const info = await eraClosing(executor, era);
  if (run === null || run.report === null || info === null || info.closedAt === null) return;
  const figures = run.report as RunFigures;
  const costs = await policyCostsOf(executor, era);
  await upsertSummaryPoint(executor, era, run.id, run.totalStake, storedPoint(era, info.closedAt, figures, costs));
}

/** A run's figures from its stored vectors and inputs: for runs made before figures were stored with them. */
async function figuresFromRun(deps: ReportFiguresDeps, executor: Executor, era: number, runId: string): Promise<RunFigures> {
  const run = await runForFigures(executor, runId);
  const stakes = await runInputStakes(executor, era, runId);
  return runFigures({
    universe: await deps.eras.universeRows(era, executor),
    unconstrained: decodeFloat64(run.unconstrained),
    signal: decodeFloat64(run.signal),
    value: decodeFloat64(run.value),
    tradable: run.tradable,
    observed: Object.keys(run.observedBy).length,
    stakes,
    totalStake: run.totalStake,
    policy: run.policyName === null || run.policyVersion === null ? null : { name: run.policyName, version: run.policyVersion, document: storedDocument(run.policyDocument) },
    policyReport: run.policyReport as PolicyRunReport | null,
    deciles: storedDeciles.parse(run.policyReport)?.deciles ?? null,
  });
}

/**
 * Eras closed before report figures were stored get them once: the latest run's figures, its
 * costs on the stored targets and the summary point. One replica does it (advisory lock); a
 * replica that finds the lock taken leaves it to the other.
 */
async function backfill(ctx: Context, db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    if (!(await tryBackfillLock(tx))) return 0;
    const missing = await erasWithoutPoint(tx);
    for (const { era, runId, hasReport } of missing) {
      if (!hasReport) await setRunReport(tx, runId, await figuresFromRun(ctx, tx, era, runId));
      await costTargets(ctx, tx, era, await storedTargetValues(tx, era));
    }
    return missing.length;
  });
}

async function storedTargetValues(executor: Executor, era: number) {
  return (await latestTargetValues(executor, era)).map((t) => ({ name: t.name, values: decodeFloat64(t.values) }));
}

/**
 * Keeps the stored report figures in step: the cost of the policy per era and target
 * (docs/reports.md) and the summary's point per era. Called in the transaction that made the
 * run or stored the target, so readers never compute them.
 */
export function reportFiguresService(deps: ReportFiguresDeps) {
  // Leave-one-out values depend on the run only, so they are kept for the few latest runs: an
  // upload of many targets, and the uploads that follow a run, compute them once.
  const ctx: Context = {
    ...deps,
    leaveOneOut: boundedCache<string, { part: PolicyPart; value: Float64Array }[]>({
      max: 4,
      staleness: 'cannot be stale: keyed by run id, and a run (its policy, universe and unconstrained vector) never changes once made',
    }),
  };
  return {
    figuresFromRun: (executor: Executor, era: number, runId: string) => figuresFromRun(ctx, executor, era, runId),
    backfill: (db: Database) => backfill(ctx, db),
    /** After a run is made (close or recompute): its costs on every stored target, and the era's point. */
    afterRun: async (executor: Executor, era: number) => costTargets(ctx, executor, era, await storedTargetValues(executor, era)),
    /** After several targets (a new version of each) are stored in one upload: their costs from one read of the run, and the era's point refreshed once. */
    afterTargets: (executor: Executor, era: number, targets: readonly { name: string; values: Float64Array }[]) => costTargets(ctx, executor, era, targets),
  };
}

export type ReportFiguresService = ReturnType<typeof reportFiguresService>;
