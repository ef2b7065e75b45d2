import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTHER_GROUP, pearson, sectorTilt, spearman, stakeConcentration } from '../../src/domain/stats.js';
import { reference } from '../support/reference.js';

const { era } = reference;

/** ΣΣ|π_i − π_j| / 2K straight from the definition, O(K²). */
function naiveGini(stakes: number[]): number {
  const total = stakes.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (const a of stakes) for (const b of stakes) sum += Math.abs(a / total - b / total);
  return sum / (2 * stakes.length);
}

describe('stakeConcentration', () => {
  it('matches the reference stake statistics', () => {
    const stats = stakeConcentration(Object.values(era.stakes));
    const expected = era.stakeStats;
    expect(stats.models).toBe(expected.models);
    expect(stats.total).toBe(185.5);
    expect(stats.gini).toBeCloseTo(expected.gini, 9);
    expect(stats.nakamoto50).toBe(expected.nakamoto50);
    expect(stats.effectiveModels).toBeCloseTo(expected.effectiveModels, 9);
    expect(stats.top10Share).toBeCloseTo(expected.top10Share, 9);
  });

  it('has no inequality when every stake is equal', () => {
    const stats = stakeConcentration(Array.from({ length: 20 }, () => 7));
    expect(stats.gini).toBeCloseTo(0, 12);
    expect(stats.nakamoto50).toBe(10);
    expect(stats.effectiveModels).toBeCloseTo(20, 9);
    expect(stats.top10Share).toBeCloseTo(0.5, 12);
  });

  it('gives one model everything', () => {
    expect(stakeConcentration([250])).toEqual({ models: 1, total: 250, gini: 0, nakamoto50: 1, effectiveModels: 1, top10Share: 1 });
  });

  it('counts hand-computed shares: stakes 1, 1, 2', () => {
    const stats = stakeConcentration([1, 2, 1]);
    // π = ¼ ¼ ½: ΣΣ|πi − πj| = 4·¼ = 1, over 2K = 6.
    expect(stats.gini).toBeCloseTo(1 / 6, 15);
    expect(stats.nakamoto50).toBe(1);
    expect(stats.effectiveModels).toBeCloseTo(1 / (1 / 16 + 1 / 16 + 1 / 4), 12);
  });

  it('needs a second model when the largest holds just under half', () => {
    expect(stakeConcentration([49, 26, 25]).nakamoto50).toBe(2);
    expect(stakeConcentration([50, 25, 25]).nakamoto50).toBe(1);
  });

  it('takes the ten largest for the top-10 share', () => {
    const stakes = [...Array.from({ length: 10 }, () => 10), 5, 5];
    expect(stakeConcentration(stakes).top10Share).toBeCloseTo(100 / 110, 15);
  });

  it('ignores stakes that are not positive and has no shares without any', () => {
    expect(stakeConcentration([0, 5, -1, 5]).models).toBe(2);
    const empty = stakeConcentration([0]);
    expect(empty).toMatchObject({ models: 0, total: 0, nakamoto50: 0, effectiveModels: 0 });
    expect(empty.gini).toBeNaN();
    expect(empty.top10Share).toBeNaN();
  });

  it('computes Gini by sorting exactly as the O(K²) definition does', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), (stakes) => {
        expect(Math.abs(stakeConcentration(stakes).gini - naiveGini(stakes))).toBeLessThanOrEqual(1e-12);
      }),
    );
  });
});

describe('pearson', () => {
  it('is ±1 on exact linear relations', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 15);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 15);
  });

  it('matches a hand-computed value', () => {
    // centred: a = (-1.5, -0.5, 0.5, 1.5), b = (-0.5, -1.5, 1.5, 0.5): Σab = 3, Σa² = Σb² = 5.
    expect(pearson([1, 2, 3, 4], [2, 1, 4, 3])).toBeCloseTo(0.6, 15);
  });

  it('skips pairs where either side is not finite', () => {
    expect(pearson([1, 2, NaN, 3, 4], [2, 1, 100, 4, 3])).toBeCloseTo(0.6, 15);
  });

  it('is NaN without variance or without two pairs', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1], [1])).toBeNaN();
    expect(pearson([], [])).toBeNaN();
  });
});

describe('spearman', () => {
  it('is 1 for any increasing relation', () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 1000])).toBeCloseTo(1, 15);
  });

  it('keeps ties: (1, 2, 2, 3) against (1, 2, 3, 4)', () => {
    // ranks 1, 2.5, 2.5, 4 against 1..4: Σab = 4.5, Σa² = 4.5, Σb² = 5.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 15);
  });

  it('ranks over the pairs present on both sides only', () => {
    expect(spearman([NaN, 1, 2, 3], [100, 3, 2, 1])).toBeCloseTo(-1, 15);
  });
});

describe('sectorTilt', () => {
  it('means per group, folding small and missing groups into other', () => {
    const tilt = sectorTilt([1, 2, 3, 4, NaN, 6, 10], ['a', 'a', 'b', 'b', 'b', 'c', null], 2);
    expect(tilt).toEqual([
      { group: 'a', count: 2, mean: 1.5 },
      { group: 'b', count: 3, mean: 3.5 },
      { group: OTHER_GROUP, count: 2, mean: 8 },
    ]);
  });

  it('folds every reference sector (3 ids each) into other at the default minimum of 5', () => {
    const tilt = sectorTilt(era.unconstrained, era.sectors);
    expect(tilt).toHaveLength(1);
    expect(tilt[0].group).toBe(OTHER_GROUP);
    expect(tilt[0].count).toBe(12);
    expect(tilt[0].mean).toBeCloseTo(era.unconstrained.reduce((a, b) => a + b, 0) / 12, 15);
  });

  it('gives the reference sector means with a minimum of 3', () => {
    const tilt = sectorTilt(era.unconstrained, era.sectors, 3);
    expect(tilt.map((g) => g.group)).toEqual(['10', '20', '35', '45']);
    const u = era.unconstrained;
    expect(tilt[0].mean).toBeCloseTo((u[0] + u[1] + u[2]) / 3, 15);
    expect(tilt[3].mean).toBeCloseTo((u[9] + u[10] + u[11]) / 3, 15);
    expect(tilt[0].mean).toBeCloseTo(-0.6766902144686568, 12);
  });

  it('is NaN for a group with no value (every id excluded)', () => {
    expect(sectorTilt([NaN, NaN, 1], ['x', 'x', 'y'], 1)[0]).toEqual({ group: 'x', count: 2, mean: NaN });
    expect(sectorTilt([], [])).toEqual([]);
  });
});
