import { exposureFeatures, signalExposures, type SignalExposures } from './exposures.js';
import { policyParts } from './policy/cost.js';
import type { PolicyDocument } from './policy/schema.js';
import type { PolicyRunReport } from './policy/run-report.js';
import { foldStakeDeciles, groupContributions, tiltBeforeAfter } from './report.js';
import type { StakeDecile } from './stake-deciles.js';
import { spearman, stakeConcentration } from './stats.js';
import type { UniverseRow } from './universe.js';
import { sectorLabels, shareOf, universeCounts } from './universe-counts.js';

/** The figures of one run that do not depend on a target (docs/reports.md), computed once with the run. */
export interface RunFigures {
  universeSize: number;
  tradable: number;
  excluded: { count: number; share: number };
  observed: { count: number; share: number };
  byRule: RuleEffectShare[];
  policy: {
    name: string;
    version: number;
    mode: 'enforce' | 'shadow';
    wouldBe: { tradable: number; excluded: number; observed: number; cost: number | null } | null;
  } | null;
  /** Spearman of the traded S with M over the tradable ids */
  policyCost: number | null;
  stake: { models: number; total: string; gini: number | null; nakamoto50: number; effectiveModels: number; top10Share: number | null };
  /** stake deciles folded so each group holds ≥ 5 models; null (withheld) with fewer than 5 models */
  stakeDeciles: { decile: number; lastDecile: number; models: number; stakeShare: number }[] | null;
  sectorTilt: { sector: string; ids: number; unconstrained: number | null; traded: number | null; byStakeDecile: number[] | null }[];
  exposures: { unconstrained: SignalExposures; traded: SignalExposures };
}

/** Every part of the policy with what it did: exclude, observe and scale rules, neutralization and group caps. */
export interface RuleEffectShare {
  ruleId: string;
  description: string | null;
  action: 'exclude' | 'scale' | 'observe' | 'neutralize' | 'groupCap';
  matched: number;
  excluded: number;
  observed: number;
  /** ids whose signal the part changed: scaled ids for a scale rule, the tradable ids for neutralize and groupCap */
  scaled: number;
  excludedShare: number;
  observedShare: number;
  scaledShare: number;
}

export interface RunFiguresInput {
  universe: readonly UniverseRow[];
  unconstrained: Float64Array;
  signal: Float64Array;
  value: Float64Array;
  tradable: number;
  observed: number;
  /** at-risk stakes of the run's inputs */
  stakes: readonly number[];
  totalStake: string;
  policy: { name: string; version: number; document: PolicyDocument } | null;
  policyReport: PolicyRunReport | null;
  deciles: readonly StakeDecile[] | null;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function runFigures(input: RunFiguresInput): RunFigures {
  const { universe, unconstrained, signal, value, tradable, observed, policy, policyReport, deciles } = input;
  const n = universe.length;
  const concentration = stakeConcentration([...input.stakes]);
  const groups = deciles === null ? null : foldStakeDeciles(deciles);
  const decileStake = groups?.reduce((sum, g) => sum + g.stake, 0) ?? 0;
  const shadow = policyReport?.shadowResult ?? null;
  return {
    ...universeCounts(n, tradable, observed),
    byRule: policy === null ? [] : ruleEffects(policy.document, policyReport, shadow?.tradable ?? tradable, n),
    policy:
      policy === null
        ? null
        : {
            name: policy.name,
            version: policy.version,
            mode: policyReport?.mode ?? policy.document.mode,
            wouldBe:
              shadow === null
                ? null
                : { tradable: shadow.tradable, excluded: shadow.excluded, observed: Object.keys(shadow.observedBy).length, cost: shadow.spearman },
          },
    policyCost: finiteOrNull(spearman(signal, unconstrained)),
    stake: {
      models: concentration.models,
      total: input.totalStake,
      gini: finiteOrNull(concentration.gini),
      nakamoto50: concentration.nakamoto50,
      effectiveModels: concentration.effectiveModels,
      top10Share: finiteOrNull(concentration.top10Share),
    },
    stakeDeciles: groups?.map((g) => ({ decile: g.firstDecile, lastDecile: g.lastDecile, models: g.models, stakeShare: shareOf(g.stake, decileStake) })) ?? null,
    sectorTilt: tiltBeforeAfter(unconstrained, signal, sectorLabels(universe)).map((t) => ({
      sector: t.sector,
      ids: t.ids,
      unconstrained: finiteOrNull(t.unconstrained),
      traded: finiteOrNull(t.traded),
      byStakeDecile: deciles === null || groups === null ? null : groupContributions(deciles, groups, t.sector),
    })),
    exposures: exposuresOf(unconstrained, value, universe),
  };
}

/** Counts per rule as the run recorded them (in shadow mode: what enforcing would do), then neutralize and groupCap. */
function ruleEffects(document: PolicyDocument, report: PolicyRunReport | null, tradable: number, n: number): RuleEffectShare[] {
  const counts = new Map((report?.ruleCounts ?? []).map((c) => [c.ruleId, c]));
  return policyParts(document).map((part) => {
    const c = counts.get(part.ruleId);
    const matched = c?.matched ?? 0;
    const excluded = c?.excluded ?? 0;
    const observedIds = c?.observed ?? 0;
    const scaled = part.action === 'scale' ? matched : part.action === 'neutralize' || part.action === 'groupCap' ? tradable : 0;
    const rule = document.rules.find((r) => r.id === part.ruleId);
    return {
      ruleId: part.ruleId,
      description: rule?.description ?? (part.action === 'neutralize' ? `neutralize by ${document.neutralize!.by}, proportion ${document.neutralize!.proportion}` : part.action === 'groupCap' ? `cap |mean| per ${document.groupCap!.by} at ${document.groupCap!.maxAbsMean}` : null),
      action: part.action,
      matched: part.action === 'neutralize' || part.action === 'groupCap' ? tradable : matched,
      excluded,
      observed: observedIds,
      scaled,
      excludedShare: shareOf(excluded, n),
      observedShare: shareOf(observedIds, n),
      scaledShare: shareOf(scaled, n),
    };
  });
}

/** Exposures of M over the universe and of the traded value over the tradable ids (docs/reports.md, exposures). */
export function exposuresOf(unconstrained: ArrayLike<number>, value: ArrayLike<number>, universe: readonly UniverseRow[]): RunFigures['exposures'] {
  const features = exposureFeatures(universe);
  return { unconstrained: signalExposures(unconstrained, features), traded: signalExposures(value, features) };
}
