import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, Executor } from '../db/client.js';
import { metaModelRuns, policies, runInputs } from '../db/schema.js';
import { reportsDal, type StoredCost } from '../db/reports.js';
import { runFigures, type RunFigures } from '../domain/era-report.js';
import type { PolicyRunReport } from '../domain/policy/run-report.js';
import { leaveOneOutValues, policyCost, type PolicyPart } from '../domain/policy/cost.js';
import type { PolicyDocument } from '../domain/policy/index.js';
import { decodeFloat64 } from '../domain/packed.js';
import type { ErasService } from './eras.js';
import { storedDocument } from './policies.js';

/** One closed era in the summary: the headline figures, what each target says, and exposures as nets. */
export interface StoredPoint {
  era: number;
  closedAt: string;
  universeSize: number;
  tradable: number;
  excludedShare: number;
  observedShare: number;
  policy: { name: string; version: number; mode: 'enforce' | 'shadow' } | null;
  policyCost: number | null;
  stake: RunFigures['stake'];
  metaModelCorr: Record<string, number | null>;
  performanceCost: Record<string, { unconstrained: number | null; traded: number | null; cost: number | null }>;
  exposures: { attributes: Record<string, NetPair>; tags: Record<string, NetPair> };
}

interface NetPair {
  unconstrained: number | null;
  traded: number | null;
}

/** The part of meta_model_runs.policy_report older runs are read for; they may lack `deciles`. */
const storedDeciles = z
  .looseObject({
    deciles: z
      .array(z.object({ decile: z.number(), models: z.number(), stake: z.number(), sectorMeans: z.record(z.string(), z.number()).nullable() }))
      .optional(),
  })
  .nullable();

// Leave-one-out values depend on the run only (runs never change), so they are kept for the few
// latest runs: an upload of many targets computes them once.
const LEAVE_ONE_OUT_RUNS = 4;

/**
 * Keeps the stored report figures in step: the cost of the policy per era and target (DESIGN
 * section 2 step 12) and the summary's point per era. Called in the transaction that made the
 * run or stored the target, so readers never compute them.
 */
export function reportFiguresService(deps: { eras: ErasService }) {
  const { eras } = deps;
  const leaveOneOut = new Map<string, { part: PolicyPart; value: Float64Array }[]>();

  async function withoutEach(runId: string, era: number, document: PolicyDocument | null, mode: string | undefined, unconstrained: Float64Array, executor: Executor) {
    // Only an enforced policy changed the traded value; without one (or in shadow mode) no part has a cost of its own.
    if (document === null || mode !== 'enforce') return [];
    const cached = leaveOneOut.get(runId);
    if (cached) return cached;
    const computed = leaveOneOutValues(document, await eras.universeRows(era, executor), unconstrained);
    if (leaveOneOut.size >= LEAVE_ONE_OUT_RUNS) leaveOneOut.delete(leaveOneOut.keys().next().value!);
    leaveOneOut.set(runId, computed);
    return computed;
  }

  /** Costs on the given targets against the era's latest run, stored, then the era's point refreshed. */
  async function costTargets(executor: Executor, era: number, given: { name: string; values: Float64Array }[]) {
    const dal = reportsDal(executor);
    const run = await dal.latestRun(era);
    if (run === null) return;
    if (given.length > 0) {
      const vectors = await dal.runVectors(run.id);
      const unconstrained = decodeFloat64(vectors.unconstrained);
      const value = decodeFloat64(vectors.value);
      const document = run.policyDocument === null ? null : storedDocument(run.policyDocument);
      const mode = (run.policyReport as { mode?: string } | null)?.mode;
      const parts = await withoutEach(run.id, era, document, mode, unconstrained, executor);
      for (const { name, values } of given) {
        const cost = policyCost(unconstrained, value, parts, values);
        const stored: StoredCost = { target: name, runId: run.id, ...cost };
        await dal.upsertCost(era, stored);
      }
    }
    await refreshPoint(executor, era);
  }

  async function refreshPoint(executor: Executor, era: number) {
    const dal = reportsDal(executor);
    const run = await dal.latestRun(era);
    const info = await dal.closedAt(era);
    if (run === null || run.report === null || info === null || info.closedAt === null) return;
    const figures = run.report as RunFigures;
    const costs = await dal.costs(era);
    const nets = (kind: 'attributes' | 'tags') => {
      const out: Record<string, NetPair> = {};
      const names = new Set([...Object.keys(figures.exposures.unconstrained[kind]), ...Object.keys(figures.exposures.traded[kind])]);
      for (const name of [...names].sort()) out[name] = { unconstrained: figures.exposures.unconstrained[kind][name]?.net ?? null, traded: figures.exposures.traded[kind][name]?.net ?? null };
      return out;
    };
    const point: StoredPoint = {
      era,
      closedAt: info.closedAt.toISOString(),
      universeSize: figures.universeSize,
      tradable: figures.tradable,
      excludedShare: figures.excluded.share,
      observedShare: figures.observed.share,
      policy: figures.policy === null ? null : { name: figures.policy.name, version: figures.policy.version, mode: figures.policy.mode },
      policyCost: figures.policyCost,
      stake: figures.stake,
      metaModelCorr: Object.fromEntries(costs.map((c) => [c.target, c.traded])),
      performanceCost: Object.fromEntries(costs.map((c) => [c.target, { unconstrained: c.unconstrained, traded: c.traded, cost: c.cost }])),
      exposures: { attributes: nets('attributes'), tags: nets('tags') },
    };
    await dal.upsertPoint(era, run.id, run.totalStake, point);
  }

  /** A run's figures from its stored vectors and inputs: for runs made before figures were stored with them. */
  async function figuresFromRun(executor: Executor, era: number, runId: string): Promise<RunFigures> {
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
    const stakes = await executor.select({ stake: sql<number>`${runInputs.stake}::float8` }).from(runInputs).where(eq(runInputs.runId, runId)).orderBy(asc(runInputs.modelId));
    return runFigures({
      universe: await eras.universeRows(era, executor),
      unconstrained: decodeFloat64(run.unconstrained),
      signal: decodeFloat64(run.signal),
      value: decodeFloat64(run.value),
      tradable: run.tradable,
      observed: Object.keys(run.observedBy).length,
      stakes: stakes.map((s) => s.stake),
      totalStake: run.totalStake,
      policy: run.policyName === null || run.policyVersion === null ? null : { name: run.policyName, version: run.policyVersion, document: storedDocument(run.policyDocument) },
      policyReport: run.policyReport as PolicyRunReport | null,
      deciles: storedDeciles.parse(run.policyReport)?.deciles ?? null,
    });
  }

  return {
    figuresFromRun,

    /**
     * Eras closed before report figures were stored get them once: the latest run's figures, its
     * costs on the stored targets and the summary point. One replica does it (advisory lock); a
     * replica that finds the lock taken leaves it to the other.
     */
    async backfill(db: Database): Promise<number> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${0x53570003}, 0) as locked`);
        if (!rows[0].locked) return 0;
        const { rows: missing } = await tx.execute<{ era: number; runId: string; hasReport: boolean }>(sql`
          select e.number as era, r.id as "runId", r.report is not null as "hasReport"
          from eras e
          cross join lateral (select id, report from meta_model_runs m where m.era_number = e.number order by m.seq desc limit 1) r
          where e.closed_at is not null and not exists (select 1 from era_report_points p where p.era_number = e.number)
          order by e.number`);
        for (const { era, runId, hasReport } of missing) {
          if (!hasReport) await tx.update(metaModelRuns).set({ report: await figuresFromRun(tx, era, runId) }).where(eq(metaModelRuns.id, runId));
          const stored = await reportsDal(tx).storedTargets(era);
          await costTargets(tx, era, stored.map((t) => ({ name: t.name, values: decodeFloat64(t.values) })));
        }
        return missing.length;
      });
    },

    /** After a run is made (close or recompute): its costs on every stored target, and the era's point. */
    async afterRun(executor: Executor, era: number) {
      const stored = await reportsDal(executor).storedTargets(era);
      await costTargets(executor, era, stored.map((t) => ({ name: t.name, values: decodeFloat64(t.values) })));
    },

    /** After a target (a new version of it) is stored: the cost of the policy on it, and the era's point. */
    async afterTarget(executor: Executor, era: number, name: string, values: Float64Array) {
      await costTargets(executor, era, [{ name, values }]);
    },
  };
}

export type ReportFiguresService = ReturnType<typeof reportFiguresService>;
