import { performance } from 'node:perf_hooks';
import { inClientTransaction, type ClientTransaction, type Database, type DatabaseHandle, type Executor } from '../db/client.js';
import * as erasDal from '../db/eras.js';
import { emitEvents } from '../db/events.js';
import { eraClosed } from '../domain/events.js';
import * as ledger from '../db/ledger.js';
import { lockActivations } from '../db/policies.js';
import * as runsDal from '../db/runs.js';
import type { RunSummary } from '../db/runs.js';
import { runFigures } from '../domain/era-report.js';
import { decodeFloat64 } from '../domain/packed.js';
import { applyPolicyToRun, type PolicyInForce } from '../domain/policy/apply-to-run.js';
import type { PolicyRunReport } from '../domain/policy/run-report.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { StakeDecileMeans, stakeDeciles } from '../domain/stake-deciles.js';
import { sectorLabels } from '../domain/universe-counts.js';
import { conflict, notFound } from '../errors.js';
import { type Actor, type AuditService, SCHEDULER } from './audit.js';
import type { EraRow, ErasService } from './eras.js';
import { versionForEra } from './policies.js';
import type { ReportFiguresService } from './report-figures.js';

export interface CloseResult {
  era: EraRow;
  run: RunSummary;
  /** true when this call closed the era, false when it was already closed */
  closedNow: boolean;
}

type Tx = ClientTransaction;

/** Re-scores the era's stored targets against its latest run, in the recompute's transaction (wired to scoring in app.ts). */
export type RescoreEra = (t: Tx, era: EraRow) => Promise<string[]>;

export function metaModelService(deps: { db: Database; pool: DatabaseHandle['pool']; audit: AuditService; eras: ErasService; rescoreEra: RescoreEra; reportFigures: ReportFiguresService }) {
  const { db, pool, audit, eras: erasService, rescoreEra, reportFigures } = deps;

  const inTransaction = <T>(fn: (t: Tx) => Promise<T>) => inClientTransaction(pool, fn);

  /**
   * The policy version in force for the era (the activations table, by era number). The shared
   * lock orders this read with activations, which take it exclusively while they pick their era.
   */
  async function policyInForce(tx: Executor, era: EraRow): Promise<PolicyInForce | null> {
    await lockActivations(tx, 'shared');
    return versionForEra(era.number, tx);
  }

  /**
   * Streams the prepared vectors of a run's inputs into M, one submission at a time (memory is one
   * Float64Array whatever the number of models), applies the policy and completes the run row.
   */
  async function computeRun({ client, tx }: Tx, era: EraRow, runId: string, policy: PolicyInForce | null, started: number) {
    const n = era.universeSize;
    // Stake deciles are known before streaming, so M is summed by decile: the report splits sector tilts by them.
    const stakes = await runsDal.runInputStakes(tx, runId);
    const byDecile = new StakeDecileMeans(n, stakeDeciles(stakes));
    let k = 0;
    // Ordered by model so a recompute from the same inputs sums in the same order, bit for bit.
    await runsDal.streamRunInputs(client, runId, (ranks, covered, stake) => byDecile.add(k++, decodeRankCodes(ranks), covered, stake));

    // No staked model: M is all zeros (every id at the middle rank), not 0/0.
    const unconstrained = byDecile.models > 0 ? byDecile.result() : new Float64Array(n);
    const universe = await erasService.universeRows(era.number, tx);
    const traded = applyPolicyToRun(policy, universe, unconstrained);
    // Kept next to the policy's counts (alone when no policy applied): per stake decile, the mean of M_d per sector.
    const report = { ...(traded.report as PolicyRunReport | null), deciles: byDecile.bySector(sectorLabels(universe)) };
    let tradable = 0;
    for (let i = 0; i < n; i++) tradable += traded.tradable[i];

    await runsDal.completeRun(tx, runId, {
      tradable,
      unconstrained,
      signal: traded.signal,
      value: traded.value,
      excludedBy: traded.excludedBy,
      observedBy: traded.observedBy,
      policyReport: report,
      durationMs: performance.now() - started,
    });

    // The report's figures are computed here, once per run, and read from the run afterwards.
    const totalStake = await runsDal.runTotalStake(tx, runId);
    const figures = runFigures({
      universe,
      unconstrained,
      signal: traded.signal,
      value: traded.value,
      tradable,
      observed: Object.keys(traded.observedBy).length,
      stakes,
      totalStake,
      policy,
      policyReport: traded.report as PolicyRunReport | null,
      deciles: report.deciles,
    });
    await runsDal.setRunReport(tx, runId, figures);
    await reportFigures.afterRun(tx, era.number);
  }

  async function runById(executor: Executor, runId: string): Promise<RunSummary> {
    const [run] = await runsDal.runSummaries(executor, { runId });
    return run;
  }

  /**
   * Closes an era once: the row lock serializes closers and waits for in-flight submissions,
   * and whoever finds closed_at set returns the closing run. `skipIfBusy` (the scheduler)
   * returns null instead of queueing behind another replica that is closing the same era.
   */
  async function close(actor: Actor, number: number, skipIfBusy: boolean): Promise<CloseResult | null> {
    return inTransaction(async (t) => {
      const { client, tx } = t;
      if (skipIfBusy) {
        if (!(await erasDal.tryLockClose(client, number))) return null;
      }
      // The stake lock first, then the era row: a stake change holds the stake lock (shared) when its release's
      // foreign key locks an era row, so taking them the other way round here would deadlock with a lowering after
      // closesAt. The cutoff is stamped inside the stake lock, which waits for stake changes in flight and keeps new
      // ones out until this commits: every ledger entry stamped at or before closedAt is in the snapshot, every
      // later one is not. A scheduler that closes late still cuts off at closesAt, as submissions do.
      await ledger.lockStakes(tx);
      const locked = await erasDal.lockEra(tx, number, 'update');
      if (!locked) throw notFound(`era ${number} does not exist`);
      if (locked.closedAt) {
        const [run] = await runsDal.runSummaries(tx, { era: number, seq: 1 });
        return { era: locked, run, closedNow: false };
      }
      if (!locked.universeDigest) throw conflict(`era ${number} has no universe; set it before closing`);

      const started = performance.now();
      const era = await erasDal.markClosed(tx, number);
      const policy = await policyInForce(tx, era);
      const runId = await runsDal.insertRun(tx, { era: number, seq: 1, trigger: 'close', policyId: policy?.id ?? null, actorId: actor.accountId });
      await ledger.snapshotAtRisk(tx, number, runId);
      await computeRun(t, era, runId, policy, started);
      const run = await runById(tx, runId);
      await audit.record(tx, {
        actor,
        action: 'era.close',
        subject: `era:${number}`,
        details: { closedAt: era.closedAt, run: run.id, models: run.models, totalStake: run.totalStake, by: actor === SCHEDULER ? 'scheduler' : 'request' },
      });
      await emitEvents(tx, [eraClosed(era, run)]);
      return { era, run, closedNow: true };
    });
  }

  async function closedEra(number: number): Promise<EraRow> {
    const era = await erasService.get(number);
    if (!era.closedAt) throw notFound(`era ${number} is not closed yet; its meta-model exists once it closes`);
    return era;
  }

  /**
   * M of an open era from what a close would take now: each model's current on-time submission and
   * its stake now (the latest history entry), if positive. Nothing is stored.
   */
  async function openEraMetaModel(number: number): Promise<{ unconstrained: Float64Array; models: number }> {
    return inTransaction(async ({ client }) => {
      // One snapshot for both reads, so the stakes and the streamed submissions are the same models.
      await runsDal.repeatableRead(client);
      const era = await erasService.get(number);
      const stakes = await runsDal.openEraStakes(client, number);
      const byDecile = new StakeDecileMeans(era.universeSize, stakeDeciles(stakes));
      let k = 0;
      await runsDal.streamOpenEraInputs(client, number, (ranks, covered, stake) => byDecile.add(k++, decodeRankCodes(ranks), covered, stake));
      return { unconstrained: byDecile.models > 0 ? byDecile.result() : new Float64Array(era.universeSize), models: byDecile.models };
    });
  }

  return {
    openEraMetaModel,

    async closeEra(actor: Actor, number: number): Promise<CloseResult> {
      return (await close(actor, number, false))!;
    },

    /** For the scheduler: null when another replica holds the era's close lock right now. */
    async closeDueEra(number: number): Promise<CloseResult | null> {
      return close(SCHEDULER, number, true);
    },

    /** Eras past closesAt that nobody closed yet; eras without a universe cannot close and wait for one. */
    async dueEras(limit = 100): Promise<number[]> {
      return erasDal.dueEras(db, limit);
    },

    /**
     * A new run from the closing run's inputs (the at-risk set is fixed at close): picks up a
     * corrected policy or universe, never new stakes or submissions. Stored targets are
     * re-scored against it in the same transaction, so scores never point at a superseded run.
     */
    async recompute(actor: Actor, number: number): Promise<RunSummary> {
      return inTransaction(async (t) => {
        const { client, tx } = t;
        // NO KEY UPDATE, as a target upload takes it: waits for a close in progress, keeps the era from resolving and
        // uploads out while targets are re-scored, without blocking late submissions (KEY SHARE).
        const era = await erasDal.lockEra(tx, number, 'no key update');
        if (!era) throw notFound(`era ${number} does not exist`);
        if (!era.closedAt) throw conflict(`era ${number} is not closed yet; close it first`);
        if (era.resolvedAt) throw conflict(`era ${number} is resolved; its payouts used the current run, which stays final`);
        await runsDal.lockRuns(client, number);

        const started = performance.now();
        const { closingRun, nextSeq } = await runsDal.closingRunAndNextSeq(tx, number);
        const policy = await policyInForce(tx, era);
        const runId = await runsDal.insertRun(tx, { era: number, seq: nextSeq, trigger: 'recompute', policyId: policy?.id ?? null, actorId: actor.accountId });
        await runsDal.copyRunInputs(tx, closingRun, runId);
        await computeRun(t, era, runId, policy, started);
        const run = await runById(tx, runId);
        const rescored = await rescoreEra(t, era);
        await audit.record(tx, {
          actor,
          action: 'metamodel.recompute',
          subject: `era:${number}`,
          details: { run: run.id, seq: run.seq, policy: run.policy, models: run.models, totalStake: run.totalStake, rescored },
        });
        return run;
      });
    },

    async runs(number: number, options: { inputs: boolean }): Promise<{ era: number; runs: RunSummary[] }> {
      await erasService.get(number);
      return { era: number, runs: await runsDal.runSummaries(db, { era: number }, options) };
    },

    /** The latest run of a closed era with one row per universe id, in universe order. */
    async latestRun(number: number) {
      const era = await closedEra(number);
      const [run] = await runsDal.runSummaries(db, { era: number }, { latestOnly: true });
      if (!run) throw notFound(`era ${number} has no meta-model run`);
      const vectors = await runsDal.runVectors(db, run.id);
      const universe = await erasService.universeIndex(era);
      const unconstrained = decodeFloat64(vectors.unconstrained);
      const value = decodeFloat64(vectors.value);
      const rows = universe.ids.map((id, i) => ({
        id,
        // NaN marks an id outside T: excludedBy also lists side-limited rules, whose ids stay tradable.
        value: Number.isNaN(value[i]) ? null : value[i],
        unconstrained: unconstrained[i],
        excludedBy: vectors.excludedBy[String(i)] ?? [],
      }));
      return { era: number, run, rows };
    },
  };
}

export type MetaModelService = ReturnType<typeof metaModelService>;
