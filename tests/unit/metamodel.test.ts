import { describe, expect, it } from 'vitest';
import { StakeWeightedMean, stakeWeightedMean } from '../../src/domain/metamodel.js';
import { decodeRankCodes, encodeRankCodes, preparedVector, rankCodes } from '../../src/domain/prepared.js';
import { tieKeptRank } from '../../src/domain/rank.js';
import { reference } from '../support/reference.js';

const { era } = reference;
const models = Object.keys(era.predictions);
const n = era.ids.length;

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = reference.tolerance): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) expect(actual[i], `index ${i}`).toBeNaN();
    else expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Each reference model's prepared submission as the service stores it. */
function storedCodes(model: string): { codes: Uint16Array | Uint32Array; covered: number } {
  const { codes, covered } = rankCodes(Float64Array.from(era.ids, (id) => era.predictions[model][id] ?? NaN));
  return { codes: decodeRankCodes(encodeRankCodes(codes)), covered };
}

describe('StakeWeightedMean', () => {
  it('streams the reference submissions into the unconstrained meta-model', () => {
    const mean = new StakeWeightedMean(n);
    for (const model of models) {
      const { codes, covered } = storedCodes(model);
      mean.add(codes, covered, era.stakes[model]);
    }
    expect(mean.models).toBe(4);
    expect(mean.totalStake).toBe(185.5);
    const m = mean.result();
    expectAllClose(m, era.unconstrained);
    expectAllClose(tieKeptRank(m), era.value);
  });

  it('is one model’s prepared vector when only that model is staked', () => {
    const mean = new StakeWeightedMean(n);
    const { codes, covered } = storedCodes('delta');
    mean.add(codes, covered, 3);
    expectAllClose(mean.result(), era.prepared.delta);
  });

  it('leaves out stakes that are zero, negative or not finite', () => {
    const mean = new StakeWeightedMean(n);
    const { codes, covered } = storedCodes('alpha');
    mean.add(codes, covered, 0);
    mean.add(codes, covered, -5);
    mean.add(codes, covered, NaN);
    mean.add(codes, covered, Infinity);
    expect(mean.models).toBe(0);
    expect(mean.totalStake).toBe(0);
    expect(Array.from(mean.result()).every(Number.isNaN)).toBe(true);
  });

  it('refuses a submission over a different universe size', () => {
    expect(() => new StakeWeightedMean(3).add(Uint16Array.of(2, 4), 2, 1)).toThrow(RangeError);
  });

  it('weights by stake: two models at stakes 3 and 1 give ¾ and ¼', () => {
    const mean = new StakeWeightedMean(2);
    mean.add(Uint16Array.of(2, 4), 2, 3);
    mean.add(Uint16Array.of(4, 2), 2, 1);
    const g = preparedVector(Uint16Array.of(2, 4), 2);
    expectAllClose(mean.result(), [0.5 * g[0], 0.5 * g[1]], 1e-15);
  });
});

describe('stakeWeightedMean', () => {
  it('gives the reference meta-model from the reference prepared vectors', () => {
    const vectors = models.map((model) => Float64Array.from(era.prepared[model]));
    expectAllClose(stakeWeightedMean(vectors, models.map((model) => era.stakes[model])), era.unconstrained);
  });

  it('ignores a model without stake and is NaN with none', () => {
    const a = Float64Array.of(1, -1);
    const b = Float64Array.of(5, 5);
    expectAllClose(stakeWeightedMean([a, b], [2, 0]), [1, -1]);
    expectAllClose(stakeWeightedMean([a], [0]), [NaN, NaN]);
  });

  it('refuses mismatched inputs', () => {
    expect(() => stakeWeightedMean([Float64Array.of(1)], [1, 2])).toThrow(RangeError);
    expect(() => stakeWeightedMean([Float64Array.of(1), Float64Array.of(1, 2)], [1, 1])).toThrow(RangeError);
  });
});
