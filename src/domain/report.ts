import { own } from './records.js';
import type { StakeDecile } from './stake-deciles.js';
import { sectorTilt } from './stats.js';

/** The transparency report's math (docs/reports.md): anonymised aggregates of one era's run. */

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
