import { describe, expect, it } from 'vitest';
import { gaussianize, inverseNormalCdf, power15, signedPow15 } from '../../src/domain/gaussian.js';
import { reference } from '../support/reference.js';

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = reference.tolerance): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Quantiles as R's qnorm gives them, covering the central, near-tail and far-tail branches of AS241. */
const KNOWN_QUANTILES: [p: number, x: number][] = [
  [0.5, 0],
  [0.975, 1.959963984540054],
  [0.995, 2.575829303548901],
  [0.1, -1.2815515655446004],
  [0.9999999, 5.199337582290662],
  [1e-10, -6.361340902404056],
  [1e-20, -9.262340089798408],
  [1e-300, -37.04709629936120],
];

describe('inverseNormalCdf', () => {
  it('gives the reference gaussian of ranks', () => {
    expectAllClose(gaussianize(reference.primitives.gaussianOfRanks.input), reference.primitives.gaussianOfRanks.output);
  });

  it('matches known quantiles to double precision in every branch of AS241', () => {
    for (const [p, x] of KNOWN_QUANTILES) {
      expect(Math.abs(inverseNormalCdf(p) - x), `p = ${p}`).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(x)));
    }
  });

  it('is antisymmetric about 0.5', () => {
    for (let k = 1; k < 1024; k++) expect(inverseNormalCdf(1 - k / 1024) + inverseNormalCdf(k / 1024)).toBe(0);
  });

  it('is increasing across the branch boundaries', () => {
    const ps = [0.0749, 0.075, 0.0751, 1.3888e-11, 1.38879e-11, 1.3889e-11, 0.9249, 0.925, 0.9251];
    const sorted = [...ps].sort((a, b) => a - b);
    const xs = sorted.map(inverseNormalCdf);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
  });

  it('is infinite at 0 and 1 and NaN outside [0, 1]', () => {
    expect(inverseNormalCdf(0)).toBe(-Infinity);
    expect(inverseNormalCdf(1)).toBe(Infinity);
    expect(inverseNormalCdf(-0.1)).toBeNaN();
    expect(inverseNormalCdf(1.1)).toBeNaN();
    expect(inverseNormalCdf(NaN)).toBeNaN();
  });
});

describe('gaussianize', () => {
  it('keeps NaN', () => {
    const out = gaussianize([NaN, 0.5]);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(0);
  });
});

describe('power15', () => {
  it('matches the reference primitive', () => {
    expectAllClose(power15(reference.primitives.power15.input), reference.primitives.power15.output);
  });

  it('is sign(x)·|x|^1.5 for a scalar', () => {
    expect(signedPow15(4)).toBe(8);
    expect(signedPow15(-4)).toBe(-8);
    expect(signedPow15(0.25)).toBe(0.125);
    expect(signedPow15(NaN)).toBeNaN();
  });
});
