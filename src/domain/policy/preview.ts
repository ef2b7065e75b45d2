import { sectorTilt, spearman } from '../stats.js';
import type { UniverseRow } from '../universe.js';
import { sectorLabels, shareOf, universeCounts } from '../universe-counts.js';
import { enforcePolicy, type PolicyConflict, type RuleCount } from './pipeline.js';
import type { PolicyDocument } from './schema.js';

export interface RuleEffect extends RuleCount {
  /** ids the rule acted on (excluded, observed, or scaled) over the universe size */
  share: number;
}

export interface SectorShift {
  sector: string;
  ids: number;
  /** mean of M over the sector's ids */
  before: number;
  /** mean of S over the sector's tradable ids; NaN when the policy left none */
  after: number;
}

export interface EraPolicyEffect {
  universeSize: number;
  tradable: number;
  excluded: { count: number; share: number };
  observed: { count: number; share: number };
  byRule: RuleEffect[];
  sectorTilt: SectorShift[];
  /** the traded value: tie-kept rank of S over T, NaN outside */
  value: Float64Array;
  /** Spearman of S with M over the tradable ids: 1 means the policy costs no ordering */
  spearman: number;
  /** Net exposure per sector of the traded book, for turnover against another era. */
  sectorExposure: Map<string, number>;
  /** The same for M over every id: the book without the policy. */
  unconstrainedExposure: Map<string, number>;
  /** the parts that leave fewer than 2 distinct tradable values (or cannot all hold); null when the policy is usable here */
  conflict: PolicyConflict | null;
}

/** What enforcing a policy does to one era's unconstrained meta-model (shadow documents included). */
export function policyEffect(policy: PolicyDocument, universe: readonly UniverseRow[], unconstrained: Float64Array): EraPolicyEffect {
  const outcome = enforcePolicy(policy, universe, unconstrained);
  const n = universe.length;
  let tradable = 0;
  let observed = 0;
  for (let i = 0; i < n; i++) {
    tradable += outcome.tradable[i];
    if (outcome.observedBy[i].length > 0) observed++;
  }
  const sectors = sectorLabels(universe);
  const before = sectorTilt(unconstrained, sectors);
  const after = sectorTilt(outcome.signal, sectors);
  return {
    ...universeCounts(n, tradable, observed),
    byRule: outcome.ruleCounts.map((count) => ruleEffect(count, n)),
    sectorTilt: before.map((group, g) => ({ sector: group.group, ids: group.count, before: group.mean, after: after[g].mean })),
    value: outcome.value,
    spearman: spearman(outcome.signal, unconstrained),
    sectorExposure: sectorExposure(outcome.signal, sectors),
    unconstrainedExposure: sectorExposure(unconstrained, sectors),
    conflict: outcome.constraints?.conflict ?? null,
  };
}

/**
 * Net exposure per sector of the dollar-neutral book w_i = (x_i − x̄) / Σ_j |x_j − x̄| over the ids
 * with a value: the sum of w_i over each sector's ids. Σ|w| = 1, so every exposure lies in [−1, 1].
 */
export function sectorExposure(signal: Float64Array, sectors: readonly (string | null)[]): Map<string, number> {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < signal.length; i++) {
    if (Number.isFinite(signal[i])) {
      count++;
      sum += signal[i];
    }
  }
  const exposure = new Map<string, number>();
  if (count === 0) return exposure;
  const mean = sum / count;
  let gross = 0;
  for (let i = 0; i < signal.length; i++) if (Number.isFinite(signal[i])) gross += Math.abs(signal[i] - mean);
  for (let i = 0; i < signal.length; i++) {
    if (!Number.isFinite(signal[i])) continue;
    const key = sectors[i] ?? '';
    const w = gross === 0 ? 0 : (signal[i] - mean) / gross;
    exposure.set(key, (exposure.get(key) ?? 0) + w);
  }
  return exposure;
}

/**
 * ½ Σ_g |a_g − b_g| over the union of sectors (a sector absent from one side counts 0 there).
 * Ids are new every era, so turnover is measured on what persists: sector exposures. In [0, 1].
 */
export function sectorTurnover(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const [sector, v] of a) sum += Math.abs(v - (b.get(sector) ?? 0));
  for (const [sector, v] of b) if (!a.has(sector)) sum += Math.abs(v);
  return sum / 2;
}

function ruleEffect(count: RuleCount, n: number): RuleEffect {
  // excluded includes fail-closed ids; a scale rule's matches are the ids it scaled.
  const actedOn = count.excluded + count.observed + (count.action.type === 'scale' ? count.matched : 0);
  return {
    ruleId: count.ruleId,
    description: count.description,
    action: count.action,
    matched: count.matched,
    missingData: count.missingData,
    excluded: count.excluded,
    observed: count.observed,
    share: shareOf(actedOn, n),
  };
}
