import { performance } from 'node:perf_hooks';
import type { ClientTransaction, Executor } from '../../db/client.js';
import { lockActivations } from '../../db/policies.js';
import * as runsDal from '../../db/runs.js';
import { runFigures } from '../../domain/era-report.js';
import { applyPolicyToRun, type PolicyInForce } from '../../domain/policy/apply-to-run.js';
import type { PolicyRunReport } from '../../domain/policy/run-report.js';
import { decodeRankCodes } from '../../domain/prepared.js';
import { StakeDecileMeans, stakeDeciles } from '../../domain/stake-deciles.js';
import { sectorLabels } from '../../domain/universe-counts.js';
import type { EraRow } from '../eras.js';
import { versionForEra } from '../policies.js';
import type { MetaModelDeps } from './deps.js';

/**
 * The policy version in force for the era (the activations table, by era number). The shared
 * lock orders this read with activations, which take it exclusively while they pick their era.
 */
export async function policyInForce(tx: Executor, era: EraRow): Promise<PolicyInForce | null> {
  await lockActivations(tx, 'shared');
  return versionForEra(era.number, tx);
}

/**
 * M from a stream of inputs, summed by stake decile (the deciles are known before streaming, so
 * the report can split sector tilts by them); memory is one Float64Array whatever the number of
 * models. No staked model: M is all zeros (every id at the middle rank), not 0/0.
 */
export async function streamedMetaModel(
  client: ClientTransaction['client'],
  of: runsDal.InputsOf,
  universeSize: number,
  stakes: number[],
): Promise<{ unconstrained: Float64Array; byDecile: StakeDecileMeans }> {
  const byDecile = new StakeDecileMeans(universeSize, stakeDeciles(stakes));
  let k = 0;
  // Ordered by model so a recompute from the same inputs sums in the same order, bit for bit.
  await runsDal.streamInputs(client, of, (ranks, covered, stake) => byDecile.add(k++, decodeRankCodes(ranks), covered, stake));
  return { unconstrained: byDecile.models > 0 ? byDecile.result() : new Float64Array(universeSize), byDecile };
}

/**
 * Streams the prepared vectors of a run's inputs into M, applies the policy, completes the run
 * row and stores the report's figures (computed here, once per run, and read from the run afterwards).
 */
export async function computeRun(
  deps: Pick<MetaModelDeps, 'eras' | 'reportFigures'>,
  { client, tx }: ClientTransaction,
  run: { era: EraRow; runId: string; policy: PolicyInForce | null; started: number },
): Promise<void> {
  const { era, runId, policy } = run;
  const stakes = await runsDal.runInputStakes(tx, era.number, runId);
  const { unconstrained, byDecile } = await streamedMetaModel(client, { runId, era: era.number }, era.universeSize, stakes);
  const universe = await deps.eras.universeRows(era.number, tx);
  const traded = applyPolicyToRun(policy, universe, unconstrained);
  // Kept next to the policy's counts (alone when no policy applied): per stake decile, the mean of M_d per sector.
  const report = { ...(traded.report as PolicyRunReport | null), deciles: byDecile.bySector(sectorLabels(universe)) };
  let tradable = 0;
  for (let i = 0; i < era.universeSize; i++) tradable += traded.tradable[i];

  await runsDal.completeRun(tx, era.number, runId, {
    tradable,
    unconstrained,
    signal: traded.signal,
    value: traded.value,
    excludedBy: traded.excludedBy,
    observedBy: traded.observedBy,
    policyReport: report,
    durationMs: performance.now() - run.started,
  });

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
  await deps.reportFigures.afterRun(tx, era.number);
}
