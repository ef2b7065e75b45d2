import { summarizeSeries } from '../performance.js';
import type { UniverseRow } from '../universe.js';
import { policyCost } from './cost.js';
import { policyEffect } from './preview.js';
import type { PolicyDocument } from './schema.js';

/** What a version would have done on one resolved era's main target (enforced, also when its mode is shadow). */
export interface ReplayedEra {
  era: number;
  target: string;
  /** numerai_corr of M over U: the era report's unconstrained CORR on the same run and target version */
  unconstrained: number | null;
  /** numerai_corr of the value this version would have published */
  traded: number | null;
  /** unconstrained − traded */
  cost: number | null;
  /** Spearman of this version's S with M over the tradable ids */
  spearman: number | null;
  /** ids it would have excluded */
  excluded: number;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** One era of a replay: the preview's effect (preview.ts) and the report's cost (cost.ts) of the version on the run's M. */
export function replayEra(
  document: PolicyDocument,
  era: { number: number; target: string },
  universe: readonly UniverseRow[],
  unconstrained: Float64Array,
  target: Float64Array,
): ReplayedEra {
  const effect = policyEffect(document, universe, unconstrained);
  const cost = policyCost(unconstrained, effect.value, [], target);
  return {
    era: era.number,
    target: era.target,
    unconstrained: cost.unconstrained,
    traded: cost.traded,
    cost: cost.cost,
    spearman: finiteOrNull(effect.spearman),
    excluded: effect.excluded.count,
  };
}

/**
 * Over the eras with a cost: how many, the mean and population standard deviation (ddof 0, as
 * performance) of the cost, its sum, and the era where it was highest (the first such; null with none).
 */
export function replaySummary(eras: readonly ReplayedEra[]) {
  const costed = eras.filter((e): e is ReplayedEra & { cost: number } => e.cost !== null);
  const series = summarizeSeries(costed.map((e) => e.cost));
  let worst: (ReplayedEra & { cost: number }) | null = null;
  for (const e of costed) if (worst === null || e.cost > worst.cost) worst = e;
  return {
    eras: costed.length,
    meanCost: series.mean,
    stdCost: series.std,
    cumulativeCost: costed.length === 0 ? null : costed.reduce((sum, e) => sum + e.cost, 0),
    worstEra: worst === null ? null : worst.era,
  };
}
