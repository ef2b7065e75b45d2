/**
 * Twice the average 1-based rank of each value among the non-NaN values (0 for NaN), and how
 * many values were ranked. Doubled so ties stay integers: a tie over positions a+1..a+g has
 * average rank a + (g+1)/2, doubled 2a + g + 1.
 */
export function doubledAverageRanks(values: ArrayLike<number>): { doubled: Uint32Array; count: number } {
  const order = ascendingOrder(values);
  const doubled = new Uint32Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    for (let j = start; j < end; j++) doubled[order[j]] = start + 1 + end;
    start = end;
  }
  return { doubled, count: order.length };
}

/** Tie-kept rank: (average rank − 0.5) / m over the non-NaN values; NaN stays NaN. */
export function tieKeptRank(values: ArrayLike<number>): Float64Array {
  const { doubled, count } = doubledAverageRanks(values);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < ranks.length; i++) {
    ranks[i] = doubled[i] === 0 ? NaN : (doubled[i] - 1) / (2 * count);
  }
  return ranks;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const DIGIT_BITS = 11;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;

/**
 * Indices of the non-NaN values in ascending order (ties in any order). Every submission is
 * ranked when it arrives, so this is on the ingest path: a distribution sort by value does it
 * in a few linear passes for the usual spread-out predictions, and an LSD radix sort on the
 * bits takes over when the values are too clustered for that (or not finite).
 */
export function ascendingOrder(values: ArrayLike<number>): Uint32Array {
  const n = values.length;
  const order = new Uint32Array(n);
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) continue;
    order[count++] = i;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const present = order.subarray(0, count);
  if (count < 2 || min === max) return present;
  return distributionOrder(values, present, min, max) ?? radixOrder(values, present);
}

/** Moves insertion sort may make per value before the distribution sort gives way to the radix sort. */
const INSERTION_BUDGET = 8;

/**
 * One bucket per value on average, by position between min and max (a monotone map, so buckets
 * are in order), then insertion sort inside each bucket. Gives up (undefined) when the values
 * are too clustered for the buckets to stay small, or their range is not a finite number.
 */
export function distributionOrder(values: ArrayLike<number>, present: Uint32Array, min: number, max: number): Uint32Array | undefined {
  const count = present.length;
  const range = max - min;
  if (!(range > 0 && range < Infinity)) return undefined;
  const buckets = count;
  const scale = buckets / range;
  if (!(scale < Infinity)) return undefined;
  const bucketOf = new Uint32Array(count);
  const starts = new Uint32Array(buckets + 1);
  for (let j = 0; j < count; j++) {
    const b = Math.min(buckets - 1, Math.floor((values[present[j]] - min) * scale));
    bucketOf[j] = b;
    starts[b + 1]++;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
  const next = starts.slice(0, buckets);
  const sorted = new Uint32Array(count);
  for (let j = 0; j < count; j++) sorted[next[bucketOf[j]]++] = present[j];
  let budget = INSERTION_BUDGET * count;
  for (let b = 0; b < buckets; b++) {
    const start = starts[b];
    const end = starts[b + 1];
    for (let i = start + 1; i < end; i++) {
      const index = sorted[i];
      const v = values[index];
      let j = i - 1;
      while (j >= start && values[sorted[j]] > v) {
        sorted[j + 1] = sorted[j];
        j--;
      }
      budget -= i - 1 - j;
      if (budget < 0) return undefined;
      sorted[j + 1] = index;
    }
  }
  return sorted;
}

/** An LSD radix sort of the given indices on 64-bit keys that order like the doubles. */
export function radixOrder(values: ArrayLike<number>, present: Uint32Array): Uint32Array {
  const count = present.length;
  let order = Uint32Array.from(present);
  if (count < 2) return order;
  const asDouble = new Float64Array(values.length);
  for (let j = 0; j < count; j++) {
    const v = values[order[j]];
    asDouble[order[j]] = v === 0 ? 0 : v; // -0 and 0 are one value
  }
  const words = new Uint32Array(asDouble.buffer);
  const high = LITTLE_ENDIAN_HOST ? 1 : 0;
  const low = 1 - high;
  // Flip negatives entirely and set the sign bit of the rest: unsigned order is then numeric order.
  for (let j = 0; j < count; j++) {
    const i = order[j];
    if (words[2 * i + high] >>> 31 === 1) {
      words[2 * i + high] = ~words[2 * i + high];
      words[2 * i + low] = ~words[2 * i + low];
    } else {
      words[2 * i + high] |= 0x80000000;
    }
  }
  let spare = new Uint32Array(count);
  const buckets = new Uint32Array(DIGIT_MASK + 1);
  for (const word of [low, high]) {
    for (let shift = 0; shift < 32; shift += DIGIT_BITS) {
      buckets.fill(0);
      for (let j = 0; j < count; j++) buckets[(words[2 * order[j] + word] >>> shift) & DIGIT_MASK]++;
      if (buckets[(words[2 * order[0] + word] >>> shift) & DIGIT_MASK] === count) continue; // one digit for all: order stands
      for (let d = 0, sum = 0; d <= DIGIT_MASK; d++) {
        const size = buckets[d];
        buckets[d] = sum;
        sum += size;
      }
      for (let j = 0; j < count; j++) spare[buckets[(words[2 * order[j] + word] >>> shift) & DIGIT_MASK]++] = order[j];
      [order, spare] = [spare, order];
    }
  }
  return order;
}
