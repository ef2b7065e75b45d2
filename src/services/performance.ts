import { modelResults } from '../db/results.js';
import { payoutReturn, summarizeSeries } from '../domain/performance.js';
import type { Principal } from './accounts.js';
import { transaction, type ScoringDeps } from './scoring-deps.js';

/** Performance over eras (docs/scoring-and-payouts.md) for one model and target, from the results resolution stored. */
export async function performance(deps: Pick<ScoringDeps, 'db' | 'models' | 'defaultTarget'>, who: Principal, modelId: string, name?: string) {
  const model = await deps.models.getReadable(modelId, who);
  const target = name ?? deps.defaultTarget;
  const { rows, totalPayout, totalStake } = await transaction(deps, ({ tx }) => modelResults(tx, modelId, target));
  const values = (key: 'corr' | 'mmc') => rows.flatMap((row) => (row[key] === null ? [] : [row[key]]));
  return {
    modelId,
    model: model.name,
    target,
    eras: rows,
    corr: summarizeSeries(values('corr')),
    mmc: summarizeSeries(values('mmc')),
    payout: { total: totalPayout, return: payoutReturn(totalPayout, totalStake) },
  };
}
