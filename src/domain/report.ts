import { StakeWeightedMean } from './metamodel.js';
import type { RankCodes } from './prepared.js';
import type { RuleCount } from './policy/index.js';
import { sectorTilt } from './stats.js';
import type { UniverseRow } from './universe.js';
import { nameRecord, own } from './records.js';

/** The transparency report's math (docs/reports.md): anonymised aggregates of one era's run. */

export const STAKE_DECILES = 10;

/** Sector label per universe position; an empty sector counts as none (folded into 'other'). */
export function sectorLabels(universe: readonly Pick<UniverseRow, 'sector'>[]): (string | null)[] {
  return universe.map((row) => (row.sector === null || row.sector === '' ? null : row.sector));
}

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

/**
 * Each decile's part of a sector's tilt of M, (S_d / S)·mean_sector(M_d): they sum to the tilt.
 * Empty deciles contribute 0.
 */
export function decileContributions(deciles: readonly StakeDecile[], sector: string): number[] {
  let total = 0;
  for (const d of deciles) total += d.stake;
  return deciles.map((d) => (d.sectorMeans === null || total === 0 ? 0 : (d.stake / total) * (own(d.sectorMeans, sector) ?? NaN)));
}

export interface SectorTilt {
  sector: string;
  ids: number;
  /** mean of M over the sector's ids */
  unconstrained: number;
  /** mean of S over the sector's tradable ids; NaN when the policy left none */
  traded: number;
}

/** Sector tilt of the unconstrained M and the traded S, sectors under minSize ids folded into 'other'. */
export function tiltBeforeAfter(unconstrained: Float64Array, signal: Float64Array, sectors: readonly (string | null)[], minSize = 5): SectorTilt[] {
  const before = sectorTilt(unconstrained, sectors, minSize);
  const after = sectorTilt(signal, sectors, minSize);
  return before.map((group, g) => ({ sector: group.group, ids: group.count, unconstrained: group.mean, traded: after[g].mean }));
}

export interface RuleShare {
  ruleId: string;
  description: string | null;
  action: RuleCount['action']['type'];
  matched: number;
  excluded: number;
  observed: number;
  /** over the universe size */
  excludedShare: number;
  observedShare: number;
}

/** A rule's counts as a run stores them (policy_report.ruleCounts). */
export type RuleTally = Pick<RuleCount, 'ruleId' | 'description' | 'matched' | 'excluded' | 'observed'> & { action: Pick<RuleCount['action'], 'type'> };

/** Counts and shares of the universe per rule; ids are never part of it. */
export function ruleShares(counts: readonly RuleTally[], universeSize: number): RuleShare[] {
  const share = (count: number) => (universeSize === 0 ? 0 : count / universeSize);
  return counts.map((c) => ({
    ruleId: c.ruleId,
    description: c.description,
    action: c.action.type,
    matched: c.matched,
    excluded: c.excluded,
    observed: c.observed,
    excludedShare: share(c.excluded),
    observedShare: share(c.observed),
  }));
}

/** b − a for the figures two consecutive eras both have; null when either side lacks one. */
export function change(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined ? null : b - a;
}

/** No published figure describes fewer models than this (public means anonymised). */
export const MIN_MODELS = 5;

/** Adjacent stake deciles folded together so that each group holds at least MIN_MODELS models. */
export interface StakeGroup {
  firstDecile: number;
  lastDecile: number;
  models: number;
  stake: number;
  members: StakeDecile[];
}

/**
 * Folds deciles from the largest stakes down until a group holds minModels models; a remainder
 * too small for a group of its own joins the last one. Null (withheld) with fewer than minModels
 * models in all: with 3 models, a decile is one model and its tilt would be that model's.
 */
export function foldStakeDeciles(deciles: readonly StakeDecile[], minModels = MIN_MODELS): StakeGroup[] | null {
  const groups: StakeGroup[] = [];
  let open: StakeGroup | null = null;
  for (const d of deciles) {
    open ??= { firstDecile: d.decile, lastDecile: d.decile, models: 0, stake: 0, members: [] };
    open.lastDecile = d.decile;
    open.models += d.models;
    open.stake += d.stake;
    open.members.push(d);
    if (open.models >= minModels) {
      groups.push(open);
      open = null;
    }
  }
  if (open !== null) {
    const last = groups.at(-1);
    if (last === undefined) return null;
    last.lastDecile = open.lastDecile;
    last.models += open.models;
    last.stake += open.stake;
    last.members.push(...open.members);
  }
  return groups;
}

/** Each group's part of a sector's tilt of M: the sum of its deciles' parts. */
export function groupContributions(deciles: readonly StakeDecile[], groups: readonly StakeGroup[], sector: string): number[] {
  const parts = decileContributions(deciles, sector);
  return groups.map((g) => g.members.reduce((sum, d) => sum + parts[d.decile - 1], 0));
}
