import { StakeWeightedMean } from './metamodel.js';
import type { RankCodes } from './prepared.js';
import { nameRecord } from './records.js';
import { sectorTilt } from './stats.js';

/**
 * The meta-model split by stake decile (docs/reports.md, stake deciles): computed by the close in
 * the same pass as M, kept with the run, read by the report. Below the report in domain/: the
 * report imports this, never the other way.
 */

export const STAKE_DECILES = 10;

/**
 * Decile of each model by at-risk stake, 0 holding the largest: the model of rank r among K
 * (ties in input order) falls in ⌊10r / K⌋, so with fewer than 10 models some deciles are empty.
 */
export function stakeDeciles(stakes: readonly number[]): Uint8Array {
  const count = stakes.length;
  const order = Array.from({ length: count }, (_, k) => k).sort((a, b) => stakes[b] - stakes[a] || a - b);
  const deciles = new Uint8Array(count);
  order.forEach((k, rank) => (deciles[k] = Math.floor((rank * STAKE_DECILES) / count)));
  return deciles;
}

/** What a run keeps per stake decile (policy_report.deciles): enough to split every sector tilt of M exactly. */
export interface StakeDecile {
  /** 1 holds the largest stakes */
  decile: number;
  models: number;
  /** Σ at-risk stake of the decile's models, as M weights them */
  stake: number;
  /** mean of M_d (the stake-weighted mean of the decile's models) per sector, folded as sectorTilt folds; null without models */
  sectorMeans: Record<string, number> | null;
}

/**
 * M split by stake decile while the close streams submissions. M is linear in stakes, so
 * M = Σ_d (S_d / S)·M_d with M_d the stake-weighted mean of decile d and S_d its stake.
 */
export class StakeDecileMeans {
  readonly #means: StakeWeightedMean[];
  readonly #n: number;

  /** deciles: stakeDeciles of the at-risk stakes, in the order the models will be added. */
  constructor(
    n: number,
    readonly deciles: Uint8Array,
  ) {
    this.#n = n;
    this.#means = Array.from({ length: STAKE_DECILES }, () => new StakeWeightedMean(n));
  }

  /** Adds the k-th model of the stakes the deciles were computed from. */
  add(k: number, codes: RankCodes, covered: number, stake: number): void {
    if (k >= this.deciles.length) throw new RangeError(`model ${k} has no decile (${this.deciles.length} stakes)`);
    this.#means[this.deciles[k]].add(codes, covered, stake);
  }

  get models(): number {
    return this.#means.reduce((sum, mean) => sum + mean.models, 0);
  }

  /** M itself, as Σ_d (S_d / S)·M_d (all zeros with no model): one pass per model yields both M and its split. */
  result(): Float64Array {
    const total = this.#means.reduce((sum, mean) => sum + mean.totalStake, 0);
    const out = new Float64Array(this.#n);
    for (const mean of this.#means) {
      if (mean.models === 0) continue;
      const weight = mean.totalStake / total;
      const decile = mean.result();
      for (let i = 0; i < out.length; i++) out[i] += weight * decile[i];
    }
    return out;
  }

  bySector(sectors: readonly (string | null)[]): StakeDecile[] {
    return this.#means.map((mean, d) => ({
      decile: d + 1,
      models: mean.models,
      stake: mean.totalStake,
      sectorMeans: mean.models === 0 ? null : nameRecord(sectorTilt(mean.result(), sectors).map((g) => [g.group, g.mean])),
    }));
  }
}
