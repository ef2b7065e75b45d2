import { tieKeptRank } from '../rank.js';
import { groupSums } from './steps.js';

/*
 * The hard constraints a policy puts on the final S, solved together: side limits (a long-excluded
 * id S ≤ 0, a short-excluded id S ≥ 0), group caps (|group mean| ≤ cap) and neutralisation with
 * proportion 1 (every group mean 0, a cap of 0). Each is a closed convex set and S = 0 lies in all
 * of them, so their intersection is never empty. Ids outside T carry NaN and are left alone.
 */

/** Every hard constraint holds on the published S to this. */
export const CONSTRAINT_TOLERANCE = 1e-9;
// A signal this close to every bound counts as holding them: a margin below the published tolerance
// (readers re-sum group means), and one threshold for "already holds" and "solved", so that solving
// a solved signal changes nothing.
const HOLD_TOLERANCE = 1e-10;
// Alternating projections aim lower still, so they usually stop well inside the threshold.
const SOLVE_TOLERANCE = 1e-11;
// Bounds the close's time on a pathological pair of groupings (a few rounds are usual); past it the
// result is reported as not held and the version refused where that is checked.
const MAX_ROUNDS = 5_000;
const RESTART_ROUNDS = 200;

/** |mean of S over each group's tradable ids| ≤ maxAbsMean (0 for a neutralisation). */
export interface GroupLimit {
  groups: Int32Array;
  maxAbsMean: number;
}

export interface SignalConstraints {
  /** at most one per grouping field: a neutralisation and a cap on the same field are one limit (the tighter) */
  limits: readonly GroupLimit[];
  longExcluded: Uint8Array;
  shortExcluded: Uint8Array;
}

export interface HeldSignal {
  signal: Float64Array;
  /** false when the signal already held every constraint and was returned as it came */
  changed: boolean;
  /** rounds of alternating projections (one exact projection counts as one) */
  rounds: number;
  /** the largest violation of any constraint left on `signal` */
  violation: number;
  /** violation small enough that solving again changes nothing (well within CONSTRAINT_TOLERANCE) */
  held: boolean;
}

/**
 * The nearest S to `start` that holds every constraint. One grouping field (or none) is solved
 * exactly, group by group: within a group the nearest point is clamp(x + λ) with one shift λ per
 * group, found by a safeguarded Newton search. Two grouping fields (a neutralisation and a cap on
 * different fields) alternate between those two exact projections by Dykstra's algorithm, which
 * converges to the nearest point of the intersection; the last projection of a round holds the cap
 * and the side limits exactly, and rounds go on until the other field's means are within tolerance.
 */
export function holdConstraints(start: Float64Array, constraints: SignalConstraints): HeldSignal {
  const initial = violationOf(start, constraints);
  // Side limits are held exactly (a clamp is exact); only group means carry a tolerance.
  if (initial <= HOLD_TOLERANCE && sidesHold(start, constraints)) return { signal: start, changed: false, rounds: 0, violation: initial, held: true };
  const projections = constraints.limits.length === 0 ? [null] : constraints.limits;
  const members = projections.map((limit) => (limit === null ? null : groupMembers(limit.groups)));
  // Each group's last shift: between rounds the shifts settle, so the next search starts next to its answer.
  const shifts = members.map((m) => (m === null ? null : new Float64Array(m.offsets.length - 1)));
  const project = (x: Float64Array, k: number): Float64Array => {
    const limit = projections[k];
    return limit === null ? clampSides(x, constraints) : projectGroups(x, limit, members[k]!, shifts[k]!, constraints);
  };
  if (projections.length === 1) {
    const signal = project(start, 0);
    const violation = violationOf(signal, constraints);
    return { signal, changed: true, rounds: 1, violation, held: violation <= HOLD_TOLERANCE };
  }
  // Dykstra: each set keeps the increment its last projection removed, and gets it back before the next.
  const n = start.length;
  const increments = projections.map(() => new Float64Array(n));
  let x = start;
  let violation = initial;
  let rounds = 0;
  while (rounds < MAX_ROUNDS) {
    rounds++;
    // Dykstra can crawl when the sets meet at a shallow angle; restarting from where it stands
    // (increments dropped) trades the nearest point for a nearby feasible one, reached fast.
    if (rounds % RESTART_ROUNDS === 0) for (const increment of increments) increment.fill(0);
    for (let k = 0; k < projections.length; k++) {
      const shifted = new Float64Array(n);
      const increment = increments[k];
      for (let i = 0; i < n; i++) shifted[i] = x[i] + increment[i];
      const y = project(shifted, k);
      for (let i = 0; i < n; i++) increment[i] = x[i] !== x[i] ? 0 : shifted[i] - y[i];
      x = y;
    }
    violation = violationOf(x, constraints);
    if (violation <= SOLVE_TOLERANCE) break;
  }
  return { signal: x, changed: true, rounds, violation, held: violation <= HOLD_TOLERANCE };
}

function sidesHold(signal: Float64Array, constraints: SignalConstraints): boolean {
  for (let i = 0; i < signal.length; i++) {
    if (constraints.longExcluded[i] === 1 && signal[i] > 0) return false;
    if (constraints.shortExcluded[i] === 1 && signal[i] < 0) return false;
  }
  return true;
}

/** The largest amount by which S breaks a side limit or a group limit (0 when it holds them all). */
export function violationOf(signal: Float64Array, constraints: SignalConstraints): number {
  let worst = 0;
  for (let i = 0; i < signal.length; i++) {
    const v = signal[i];
    if (v !== v) continue;
    if (constraints.longExcluded[i] === 1 && v > worst) worst = v;
    if (constraints.shortExcluded[i] === 1 && -v > worst) worst = -v;
  }
  for (const limit of constraints.limits) {
    const { sums, sizes } = groupSums(signal, limit.groups);
    for (let g = 0; g < sums.length; g++) {
      if (sizes[g] === 0) continue;
      const excess = Math.abs(sums[g] / sizes[g]) - limit.maxAbsMean;
      if (excess > worst) worst = excess;
    }
  }
  return worst;
}

/**
 * The tie-kept rank of S over T when it keeps the side limits (no long-excluded id above 0.5, no
 * short-excluded id below). Otherwise the same rank re-anchored so that S = 0 sits at 0.5: negative
 * values are spread linearly over (0, 0.5), positive ones over (0.5, 1), order kept. A constant S
 * (fewer than 2 distinct values to within the tolerance) orders nothing: every tradable id gets 0.5.
 */
export function sideKeptRank(signal: Float64Array, longExcluded: Uint8Array, shortExcluded: Uint8Array): Float64Array {
  if (distinctValues(signal) < 2) return signal.map((v) => (v !== v ? NaN : 0.5));
  const rank = tieKeptRank(signal);
  let kept = true;
  for (let i = 0; i < rank.length && kept; i++) {
    if ((longExcluded[i] === 1 && rank[i] > 0.5) || (shortExcluded[i] === 1 && rank[i] < 0.5)) kept = false;
  }
  if (kept) return rank;
  let count = 0;
  let negative = 0;
  let zero = 0;
  for (const v of signal) {
    if (v !== v) continue;
    count++;
    if (v < 0) negative++;
    else if (v === 0) zero++;
  }
  // The tie-kept rank a value of exactly 0 has (or would have) among the others.
  const anchor = (negative + zero / 2) / count;
  const out = new Float64Array(signal.length);
  for (let i = 0; i < signal.length; i++) {
    const v = signal[i];
    if (v !== v) out[i] = NaN;
    else if (v < 0) out[i] = (0.5 * rank[i]) / anchor;
    else if (v === 0) out[i] = 0.5;
    else out[i] = 0.5 + (0.5 * (rank[i] - anchor)) / (1 - anchor);
  }
  return out;
}

/** 0, 1, or 2 for "at least two": values within CONSTRAINT_TOLERANCE of each other count as one. */
export function distinctValues(signal: Float64Array): 0 | 1 | 2 {
  let min = Infinity;
  let max = -Infinity;
  for (const v of signal) {
    if (v !== v) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return 0;
  return max - min <= CONSTRAINT_TOLERANCE ? 1 : 2;
}

function clampSides(x: Float64Array, constraints: SignalConstraints): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = clamp(x[i], constraints, i);
  return out;
}

function clamp(v: number, constraints: SignalConstraints, i: number): number {
  if (constraints.longExcluded[i] === 1 && v > 0) v = 0;
  if (constraints.shortExcluded[i] === 1 && v < 0) v = 0;
  return v;
}

/** Ids by group: `order` lists ids group after group, group g at order[offsets[g] .. offsets[g + 1]). */
interface Members {
  order: Int32Array;
  offsets: Int32Array;
}

function groupMembers(groups: Int32Array): Members {
  let count = 0;
  for (let i = 0; i < groups.length; i++) count = Math.max(count, groups[i] + 1);
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < groups.length; i++) offsets[groups[i] + 1]++;
  for (let g = 0; g < count; g++) offsets[g + 1] += offsets[g];
  const next = offsets.slice(0, count);
  const order = new Int32Array(groups.length);
  for (let i = 0; i < groups.length; i++) order[next[groups[i]]++] = i;
  return { order, offsets };
}

/** The nearest point holding one group limit and the side limits: per group, clamp(x + λ_g). */
function projectGroups(x: Float64Array, limit: GroupLimit, members: Members, shifts: Float64Array, constraints: SignalConstraints): Float64Array {
  const out = new Float64Array(x.length);
  const { order, offsets } = members;
  for (let g = 0; g + 1 < offsets.length; g++) {
    const ids: number[] = [];
    for (let k = offsets[g]; k < offsets[g + 1]; k++) {
      const i = order[k];
      if (x[i] === x[i]) ids.push(i);
      else out[i] = NaN;
    }
    if (ids.length === 0) continue;
    const lambda = groupShift(x, ids, limit.maxAbsMean, constraints, shifts[g]);
    shifts[g] = lambda;
    for (const i of ids) out[i] = clamp(x[i] + lambda, constraints, i);
  }
  return out;
}

/**
 * λ with |mean clamp(x + λ)| ≤ bound and λ = 0 when that already holds, else the mean on the
 * bound it broke. The mean is continuous, nondecreasing and piecewise linear in λ, so Newton steps
 * on its slope (the share of ids not at a side limit) land on the segment's root, and a bracket
 * halved whenever a step leaves it guarantees progress across the kinks.
 */
function groupShift(x: Float64Array, ids: readonly number[], bound: number, constraints: SignalConstraints, guess: number): number {
  const m = ids.length;
  const meanAt = (lambda: number): { mean: number; slope: number } => {
    let sum = 0;
    let free = 0;
    for (const i of ids) {
      const v = x[i] + lambda;
      const c = clamp(v, constraints, i);
      sum += c;
      if (c === v && !(constraints.longExcluded[i] === 1 && constraints.shortExcluded[i] === 1)) free++;
    }
    return { mean: sum / m, slope: free / m };
  };
  const at0 = meanAt(0);
  if (Math.abs(at0.mean) <= bound) return 0;
  const target = at0.mean > 0 ? bound : -bound;
  let reach = 0;
  for (const i of ids) reach = Math.max(reach, Math.abs(x[i]));
  // At ∓(reach + 1) every clamped value has the sign of the shift, so the mean is past the target.
  let low = at0.mean > 0 ? -(reach + 1) : 0;
  let high = at0.mean > 0 ? 0 : reach + 1;
  let lambda = 0;
  let current = at0;
  if (guess > low && guess < high && guess !== 0) {
    lambda = guess;
    current = meanAt(guess);
  }
  for (let step = 0; step < 200; step++) {
    const gap = target - current.mean;
    if (Math.abs(gap) <= 1e-15 * Math.max(1, reach)) return lambda;
    if (gap > 0) low = lambda;
    else high = lambda;
    let next = current.slope > 0 ? lambda + gap / current.slope : NaN;
    if (!(next > low && next < high)) next = (low + high) / 2;
    if (next === lambda) return lambda;
    lambda = next;
    current = meanAt(lambda);
  }
  return lambda;
}

