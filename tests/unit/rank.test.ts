import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascendingOrder, distributionOrder, doubledAverageRanks, radixOrder, tieKeptRank } from '../../src/domain/rank.js';
import { reference } from '../support/reference.js';

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = reference.tolerance): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) expect(actual[i], `index ${i}`).toBeNaN();
    else expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

/** The definition, O(n²): average of the 1-based positions a value would take in sorted order. */
function naiveTieKeptRank(values: number[]): number[] {
  const present = values.filter((v) => !Number.isNaN(v));
  return values.map((v) => {
    if (Number.isNaN(v)) return NaN;
    const below = present.filter((w) => w < v).length;
    const tied = present.filter((w) => w === v).length;
    return (below + (tied + 1) / 2 - 0.5) / present.length;
  });
}

describe('tieKeptRank', () => {
  it('matches the reference primitive', () => {
    expectAllClose(tieKeptRank(reference.primitives.tieKeptRank.input), reference.primitives.tieKeptRank.output);
  });

  it('ranks the reference meta-model into its published value', () => {
    expectAllClose(tieKeptRank(reference.era.unconstrained), reference.era.value);
  });

  it('gives 0.5 to a single value and to values that are all tied', () => {
    expectAllClose(tieKeptRank([42]), [0.5]);
    expectAllClose(tieKeptRank([3, 3, 3, 3]), [0.5, 0.5, 0.5, 0.5]);
  });

  it('leaves NaN unranked and counts only the values ranked', () => {
    expectAllClose(tieKeptRank([NaN, 3, 1, NaN]), [NaN, 0.75, 0.25, NaN]);
    expectAllClose(tieKeptRank([NaN, NaN]), [NaN, NaN]);
    expect(tieKeptRank([])).toHaveLength(0);
  });

  it('ties -0 with 0 and ranks infinities at the ends', () => {
    expectAllClose(tieKeptRank([0, -0, -Infinity, Infinity]), [0.5, 0.5, 0.125, 0.875]);
  });

  it('agrees with the O(n²) definition on arbitrary data with ties and NaN', () => {
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true }), fc.constant(NaN));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 60 }), (values) => {
        expectAllClose(tieKeptRank(values), naiveTieKeptRank(values), 1e-15);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('ascendingOrder', () => {
  it('orders indices of the non-NaN values numerically, negatives and infinities included', () => {
    expect(Array.from(ascendingOrder([0.5, NaN, -2, Infinity, -0, 1e-300, -Infinity, -1e-300]))).toEqual([6, 2, 7, 4, 5, 0, 3]);
  });

  it('handles no value and one value', () => {
    expect(Array.from(ascendingOrder([NaN]))).toEqual([]);
    expect(Array.from(ascendingOrder([NaN, 7]))).toEqual([1]);
  });

  /** Sorted values of the order, and whether it lists every non-NaN index once. */
  function orderedValues(values: number[], order: Uint32Array): number[] {
    const present = values.flatMap((v, i) => (Number.isNaN(v) ? [] : [i]));
    expect([...order].sort((a, b) => a - b)).toEqual(present);
    return Array.from(order, (i) => values[i]);
  }
  const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);

  it('sorts spread-out values by distribution and clustered ones by radix, both in numeric order', () => {
    const spread = fc.array(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.25, 0.5, 1), fc.constant(NaN)), {
      minLength: 2,
      maxLength: 400,
    });
    fc.assert(
      fc.property(spread, (values) => {
        const order = ascendingOrder(values);
        expect(ascending(orderedValues(values, order))).toBe(true);
        const radix = radixOrder(values, order);
        expect(Array.from(radix, (i) => values[i])).toEqual(Array.from(order, (i) => values[i]));
      }),
      { numRuns: 300 },
    );
  });

  it('uses the distribution sort on uniform values and gives way to the radix sort on clustered ones', () => {
    const uniform = Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 5000) / 4999);
    const indices = Uint32Array.from(uniform.keys());
    const byDistribution = distributionOrder(uniform, indices, 0, 1);
    expect(byDistribution).toBeDefined();
    expect(ascending(orderedValues(uniform, byDistribution!))).toBe(true);
    // 4,999 distinct values within 1e-9 of each other and one far away: all but one share a bucket.
    const clustered = Array.from({ length: 5000 }, (_, i) => (i === 0 ? 1 : 0.5 + ((i * 7919) % 4999) * 1e-13));
    expect(distributionOrder(clustered, Uint32Array.from(clustered.keys()), 0.5, 1)).toBeUndefined();
    expect(ascending(orderedValues(clustered, ascendingOrder(clustered)))).toBe(true);
  });
});

describe('doubledAverageRanks', () => {
  it('doubles average ranks so ties stay integers, 0 for NaN', () => {
    const { doubled, count } = doubledAverageRanks([1, 0, 1, 0, 1, NaN]);
    expect(Array.from(doubled)).toEqual([8, 3, 8, 3, 8, 0]);
    expect(count).toBe(5);
  });

  it('gives 2..2n to distinct values', () => {
    expect(Array.from(doubledAverageRanks([0.3, 0.1, 0.2]).doubled)).toEqual([6, 2, 4]);
  });
});
