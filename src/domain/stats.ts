import { tieKeptRank } from './rank.js';

/** Pearson correlation over the pairs where both values are finite; NaN with fewer than 2 pairs or no variance. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`pearson of ${a.length} and ${b.length} values`);
  let count = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) continue;
    count++;
    sumA += a[i];
    sumB += b[i];
  }
  if (count < 2) return NaN;
  const meanA = sumA / count;
  const meanB = sumB / count;
  let cross = 0;
  let squaresA = 0;
  let squaresB = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) continue;
    const da = a[i] - meanA;
    const db = b[i] - meanB;
    cross += da * db;
    squaresA += da * da;
    squaresB += db * db;
  }
  if (squaresA === 0 || squaresB === 0) return NaN;
  return cross / Math.sqrt(squaresA * squaresB);
}

/** Spearman correlation: Pearson of the tie-kept ranks over the pairs where both values are finite. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`spearman of ${a.length} and ${b.length} values`);
  const keptA = new Float64Array(a.length);
  const keptB = new Float64Array(b.length);
  for (let i = 0; i < a.length; i++) {
    const both = Number.isFinite(a[i]) && Number.isFinite(b[i]);
    keptA[i] = both ? a[i] : NaN;
    keptB[i] = both ? b[i] : NaN;
  }
  return pearson(tieKeptRank(keptA), tieKeptRank(keptB));
}

export interface StakeConcentration {
  models: number;
  total: number;
  gini: number;
  nakamoto50: number;
  effectiveModels: number;
  top10Share: number;
}

/**
 * Concentration of at-risk stakes (docs/reports.md) over the positive stakes, π_k = s_k / Σs.
 * With no positive stake the shares are NaN and the counts 0.
 */
export function stakeConcentration(stakes: readonly number[]): StakeConcentration {
  const positive = Float64Array.from(stakes.filter((s) => s > 0 && s < Infinity)).sort();
  const models = positive.length;
  let total = 0;
  for (let k = 0; k < models; k++) total += positive[k];
  if (models === 0) return { models: 0, total: 0, gini: NaN, nakamoto50: 0, effectiveModels: 0, top10Share: NaN };
  // ΣΣ|π_i − π_j| = 2 Σ_i (2i − K − 1) π_(i) over ascending π, so Gini costs a sort, not K².
  let weightedByOrder = 0;
  let squares = 0;
  for (let k = 0; k < models; k++) {
    const share = positive[k] / total;
    weightedByOrder += (2 * (k + 1) - models - 1) * share;
    squares += share * share;
  }
  let held = 0;
  let nakamoto50 = 0;
  while (nakamoto50 < models && held < total / 2) held += positive[models - 1 - nakamoto50++];
  let top10 = 0;
  for (let k = models - 1; k >= Math.max(0, models - 10); k--) top10 += positive[k];
  return {
    models,
    total,
    gini: Math.max(0, weightedByOrder / models), // equal stakes can round to -1e-17
    nakamoto50,
    effectiveModels: 1 / squares,
    top10Share: top10 / total,
  };
}

export const OTHER_GROUP = 'other';

export interface GroupMean {
  group: string;
  /** Ids in the group, whether or not they have a value. */
  count: number;
  /** Mean over the ids of the group with a finite value; NaN when there are none. */
  mean: number;
}

/**
 * Mean value per group (e.g. sector tilt of M or S), groups with fewer than minSize ids and ids
 * with no group folded into 'other'. Sorted by group label, 'other' last.
 */
export function sectorTilt(values: ArrayLike<number>, groups: readonly (string | null)[], minSize = 5): GroupMean[] {
  if (values.length !== groups.length) throw new RangeError(`${values.length} values but ${groups.length} group labels`);
  const sizes = new Map<string, number>();
  for (const group of groups) if (group !== null) sizes.set(group, (sizes.get(group) ?? 0) + 1);
  const folded = (group: string | null): string => (group === null || (sizes.get(group) ?? 0) < minSize ? OTHER_GROUP : group);
  const acc = new Map<string, { count: number; scored: number; sum: number }>();
  for (let i = 0; i < groups.length; i++) {
    const group = folded(groups[i]);
    let entry = acc.get(group);
    if (entry === undefined) {
      entry = { count: 0, scored: 0, sum: 0 };
      acc.set(group, entry);
    }
    entry.count++;
    if (Number.isFinite(values[i])) {
      entry.scored++;
      entry.sum += values[i];
    }
  }
  const sortKey = (group: string): string => (group === OTHER_GROUP ? '1' : '0') + group;
  return [...acc]
    .sort(([a], [b]) => (sortKey(a) < sortKey(b) ? -1 : 1))
    .map(([group, { count, scored, sum }]) => ({ group, count, mean: scored === 0 ? NaN : sum / scored }));
}
