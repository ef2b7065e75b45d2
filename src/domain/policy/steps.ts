import type { UniverseRow } from '../universe.js';
import { scalarReader } from './predicate.js';

// Convention for every step: ids outside the tradable set T carry NaN and are left alone.

/** Group index per id by a field's value; ids missing the value share one group of their own. */
export function groupIndex(universe: readonly UniverseRow[], field: string): Int32Array {
  const read = scalarReader(field);
  const ids = new Map<string, number>();
  const index = new Int32Array(universe.length);
  for (let i = 0; i < universe.length; i++) {
    const v = read(universe[i]);
    // Typed keys keep the number 3 and the string "3" apart; 'missing' cannot collide with either.
    const key = v === undefined ? 'missing' : typeof v === 'number' ? `n:${v}` : `s:${v}`;
    let g = ids.get(key);
    if (g === undefined) {
      g = ids.size;
      ids.set(key, g);
    }
    index[i] = g;
  }
  return index;
}

/** Sum and count of the non-NaN values in each group. */
export function groupSums(signal: Float64Array, groups: Int32Array): { sums: Float64Array; sizes: Float64Array } {
  let count = 0;
  for (let i = 0; i < groups.length; i++) count = Math.max(count, groups[i] + 1);
  const sums = new Float64Array(count);
  const sizes = new Float64Array(count);
  for (let i = 0; i < signal.length; i++) {
    const v = signal[i];
    if (v !== v) continue;
    sums[groups[i]] += v;
    sizes[groups[i]] += 1;
  }
  return { sums, sizes };
}

/** Mean of the non-NaN values in each group (NaN for a group with none). */
export function groupMeans(signal: Float64Array, groups: Int32Array): Float64Array {
  const { sums, sizes } = groupSums(signal, groups);
  for (let g = 0; g < sums.length; g++) sums[g] = sizes[g] === 0 ? NaN : sums[g] / sizes[g];
  return sums;
}

/**
 * S − p·X(X⁺S) with X the one-hot of the groups plus an intercept. The intercept lies in the span
 * of the one-hot columns, so the least-squares projection is exactly each id's group mean.
 */
export function neutralizeByGroup(signal: Float64Array, groups: Int32Array, proportion: number): Float64Array {
  assertAligned(signal, groups);
  const means = groupMeans(signal, groups);
  const out = new Float64Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i] - proportion * means[groups[i]];
  return out;
}

/** Shifts every group whose mean lies outside [−cap, +cap] so that its mean sits on the bound. */
export function capGroupMeans(signal: Float64Array, groups: Int32Array, maxAbsMean: number): Float64Array {
  assertAligned(signal, groups);
  const means = groupMeans(signal, groups);
  const shifts = means.map((m) => (m > maxAbsMean ? maxAbsMean - m : m < -maxAbsMean ? -maxAbsMean - m : 0));
  const out = new Float64Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i] + shifts[groups[i]];
  return out;
}

/** Multiplies each id's signal by its combined multiplier; ids outside T become NaN. */
export function scaleSignal(unconstrained: Float64Array, tradable: Uint8Array, multipliers: Float64Array): Float64Array {
  const out = new Float64Array(unconstrained.length);
  for (let i = 0; i < out.length; i++) out[i] = tradable[i] === 1 ? unconstrained[i] * multipliers[i] : NaN;
  return out;
}

/** Long side excluded: S ← min(S, 0); short side excluded: S ← max(S, 0); both: 0. */
export function limitSides(signal: Float64Array, longExcluded: Uint8Array, shortExcluded: Uint8Array): Float64Array {
  const out = Float64Array.from(signal);
  for (let i = 0; i < out.length; i++) {
    if (longExcluded[i] === 1 && out[i] > 0) out[i] = 0;
    if (shortExcluded[i] === 1 && out[i] < 0) out[i] = 0;
  }
  return out;
}

function assertAligned(signal: Float64Array, groups: Int32Array): void {
  if (signal.length !== groups.length) throw new RangeError(`${signal.length} signal values but ${groups.length} group indices`);
}
