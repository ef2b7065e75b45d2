import type { Executor } from '../db/client.js';
import { reportsDal, type StoredCost } from '../db/reports.js';
import type { RunFigures } from '../domain/era-report.js';
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

  return {
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
