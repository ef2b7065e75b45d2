import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rankCodes } from '../../src/domain/prepared.js';
import {
  corrScore,
  corrTarget,
  DEFAULT_PAYOUT_PARAMS,
  mmc,
  mmcAgainst,
  mmcBasis,
  mmcScore,
  numeraiCorr,
  payoutAmount,
  payoutFactor,
  predictionOverlap,
  type Score,
} from '../../src/domain/scoring.js';
import { TargetScorer } from '../../src/domain/target-scorer.js';
import { reference } from '../support/reference.js';

const { era, tolerance } = { era: reference.era, tolerance: reference.tolerance };
const models = Object.keys(era.predictions);
const target = Float64Array.from(era.target);
const metaModel = Float64Array.from(era.unconstrained);
/** The traded signal under the reference policy: its value over the tradable ids, NaN for an excluded id. */
const tradedSignal = Float64Array.from(era.ids, (id) => {
  const at = era.exclusion.tradable.indexOf(id);
  return at < 0 ? NaN : era.exclusion.value[at];
});

function predictions(model: string): Float64Array {
  return Float64Array.from(era.ids, (id) => era.predictions[model][id] ?? NaN);
}

function expectScore(score: Score, expected: number, status = 'ok'): void {
  expect(score.status).toBe(status);
  expect(score.value).not.toBeNull();
  expect(Math.abs((score.value ?? NaN) - expected)).toBeLessThanOrEqual(tolerance);
}

describe('numeraiCorr', () => {
  it.each(models)('gives the reference CORR of %s', (model) => {
    expect(Math.abs(numeraiCorr(predictions(model), target) - era.corr[model])).toBeLessThanOrEqual(tolerance);
  });

  it('centres the target over every id with a target, before dropping ids without a prediction', () => {
    // delta misses id11; centring over the ids kept instead gives -0.0575, not the reference -0.0739.
    const withoutId11 = Float64Array.from(target);
    withoutId11[11] = NaN;
    expect(numeraiCorr(predictions('delta'), withoutId11)).not.toBeCloseTo(era.corr.delta, 3);
  });

  it('is ±1 when both sides transform to multiples of (−1, 0, 1)', () => {
    // g = (−a, 0, a) and t − mean(t) = (−½, 0, ½): power15 keeps both proportional to (−1, 0, 1).
    expect(numeraiCorr(Float64Array.of(0.1, 0.2, 0.3), Float64Array.of(0, 0.5, 1))).toBeCloseTo(1, 15);
    expect(numeraiCorr(Float64Array.of(0.3, 0.2, 0.1), Float64Array.of(0, 0.5, 1))).toBeCloseTo(-1, 15);
  });

  it('is NaN for a constant target or a single id', () => {
    expect(numeraiCorr(Float64Array.of(0.1, 0.2, 0.3), Float64Array.of(0.5, 0.5, 0.5))).toBeNaN();
    expect(numeraiCorr(Float64Array.of(0.1, NaN), Float64Array.of(1, 0))).toBeNaN();
  });
});

describe('corrTarget', () => {
  it('is power15 of the target centred over the ids with a target', () => {
    const t = corrTarget(Float64Array.of(0, NaN, 0.5, 1));
    expect(t[0]).toBeCloseTo(-Math.SQRT1_2 / 2, 15);
    expect(t[1]).toBeNaN();
    expect(t[2]).toBe(0);
    expect(t[3]).toBeCloseTo(Math.SQRT1_2 / 2, 15);
  });
});

describe('predictionOverlap and the overlap rule', () => {
  it('is the smaller share of kept ids on either side', () => {
    expect(predictionOverlap(predictions('delta'), target)).toBeCloseTo(11 / 12, 15);
    // 10 predictions, 8 targets, 8 kept: every target has a prediction, 80 % of predictions a target.
    const p = Float64Array.from({ length: 10 }, (_, i) => i / 10);
    const t = Float64Array.from({ length: 10 }, (_, i) => (i < 8 ? i / 8 : NaN));
    expect(predictionOverlap(p, t)).toBeCloseTo(0.8, 15);
    expect(predictionOverlap(Float64Array.of(NaN), Float64Array.of(1))).toBe(0);
  });

  it('scores at exactly 80 % and refuses below', () => {
    const p = Float64Array.from({ length: 10 }, (_, i) => ((i * 3) % 10) / 10);
    const t = Float64Array.from({ length: 10 }, (_, i) => (i % 5) / 4);
    const eightyPercent = Float64Array.from(t, (v, i) => (i < 8 ? v : NaN));
    expect(corrScore(p, eightyPercent).status).toBe('ok');
    const seventyPercent = Float64Array.from(t, (v, i) => (i < 7 ? v : NaN));
    expect(corrScore(p, seventyPercent)).toEqual({ value: null, status: 'insufficient_overlap', overlap: 0.7 });
    expect(mmcScore(p, p, seventyPercent).status).toBe('insufficient_overlap');
  });

  it('refuses to score with no prediction or no target at all', () => {
    expect(corrScore(Float64Array.of(NaN, NaN), Float64Array.of(0, 1)).status).toBe('insufficient_overlap');
    expect(corrScore(new Float64Array(0), new Float64Array(0)).status).toBe('insufficient_overlap');
  });
});

describe('corrScore', () => {
  it.each(models)('gives the reference CORR of %s with status ok', (model) => {
    expectScore(corrScore(predictions(model), target), era.corr[model]);
  });

  it('says degenerate for a constant target', () => {
    expect(corrScore(Float64Array.of(0.1, 0.2, 0.3), Float64Array.of(1, 1, 1))).toEqual({ value: null, status: 'degenerate', overlap: 1 });
  });
});

describe('mmc', () => {
  it.each(models)('gives the reference MMC of %s against the meta-model (no policy)', (model) => {
    expect(Math.abs(mmc(predictions(model), metaModel, target) - era.mmc[model])).toBeLessThanOrEqual(tolerance);
  });

  it.each(models)('gives the reference MMC of %s against the traded signal (exclusion policy)', (model) => {
    expect(Math.abs(mmc(predictions(model), tradedSignal, target) - era.exclusion.mmc[model])).toBeLessThanOrEqual(tolerance);
  });

  it('depends on the signal only through its ranks', () => {
    const cubed = metaModel.map((v) => v * v * v);
    expect(Math.abs(mmc(predictions('beta'), cubed, target) - era.mmc.beta)).toBeLessThanOrEqual(tolerance);
  });

  it('does not scale a target outside [0, 1]: 4t − 2 gives the same MMC as t', () => {
    const shifted = target.map((t) => 4 * t - 2);
    expect(Math.abs(mmc(predictions('alpha'), metaModel, shifted) - era.mmc.alpha)).toBeLessThanOrEqual(tolerance);
  });

  it('is 0 for a model that is the meta-model, NaN over a single id', () => {
    expect(mmc(metaModel, metaModel, target)).toBeCloseTo(0, 15);
    expect(mmc(Float64Array.of(0.3, NaN), Float64Array.of(1, 2), Float64Array.of(0, 1))).toBeNaN();
  });
});

describe('mmcAgainst', () => {
  it('is t_cᵀp⊥ / |T| on hand-computed vectors', () => {
    // m = (1, -1, 0), p = (1, 0, -1): pᵀm = 1, mᵀm = 2, p⊥ = (0.5, 0.5, -1); t_c = (1, 0, -1) → (0.5 + 1) / 3.
    const value = mmcAgainst(Float64Array.of(1, 0, -1, 9), Float64Array.of(1, -1, 0, 9), Float64Array.of(1, 0, -1, 9), Uint8Array.of(1, 1, 1, 0));
    expect(value).toBeCloseTo(0.5, 15);
  });

  it('is NaN over an empty mask or a constant meta-model', () => {
    const v = Float64Array.of(1, -1);
    expect(mmcAgainst(v, v, v, new Uint8Array(2))).toBeNaN();
    expect(mmcAgainst(v, new Float64Array(2), v, Uint8Array.of(1, 1))).toBeNaN();
  });
});

describe('mmcBasis', () => {
  it('scales a [0, 1] target by 4 and centres it over T, zero outside T', () => {
    const basis = mmcBasis(Float64Array.of(3, 1, 2), Float64Array.of(0, 1, 0.5), Uint8Array.of(1, 1, 0));
    expect(Array.from(basis.tc)).toEqual([-2, 2, 0]);
    expect(basis.size).toBe(2);
    expect(basis.m[2]).toBe(0);
    expect(basis.m[0]).toBeCloseTo(-basis.m[1], 15);
    expect(basis.mm).toBeCloseTo(2 * basis.m[0] ** 2, 15);
    expect(basis.tm).toBeCloseTo(-4 * basis.m[0], 15);
  });
});

describe('mmcScore', () => {
  it.each(models)('gives the reference MMC of %s under the exclusion policy', (model) => {
    expectScore(mmcScore(predictions(model), tradedSignal, target), era.exclusion.mmc[model]);
  });

  it('says empty when the policy excludes every predicted id', () => {
    const p = Float64Array.of(0.1, 0.2, 0.3);
    expect(mmcScore(p, Float64Array.of(NaN, NaN, NaN), Float64Array.of(0, 0.5, 1))).toEqual({ value: null, status: 'empty', overlap: 1 });
  });

  it('says degenerate when one tradable id is left', () => {
    const p = Float64Array.of(0.1, 0.2, 0.3);
    expect(mmcScore(p, Float64Array.of(NaN, 4, NaN), Float64Array.of(0, 0.5, 1)).status).toBe('degenerate');
  });
});

describe('TargetScorer', () => {
  it.each(models)('scores the stored rank codes of %s like the reference, with and without the policy', (model) => {
    const { codes } = rankCodes(predictions(model));
    const plain = new TargetScorer(target, metaModel).score(codes);
    expectScore(plain.corr, era.corr[model]);
    expectScore(plain.mmc, era.mmc[model]);
    const policy = new TargetScorer(target, tradedSignal).score(codes);
    expectScore(policy.corr, era.corr[model]);
    expectScore(policy.mmc, era.exclusion.mmc[model]);
  });

  it('reports the overlap and refuses below 80 %', () => {
    const scorer = new TargetScorer(target, metaModel);
    expect(scorer.score(rankCodes(predictions('delta')).codes).corr.overlap).toBeCloseTo(11 / 12, 15);
    const sparse = predictions('alpha').map((v, i) => (i < 9 ? v : NaN));
    expect(scorer.score(rankCodes(sparse).codes)).toEqual({
      corr: { value: null, status: 'insufficient_overlap', overlap: 0.75 },
      mmc: { value: null, status: 'insufficient_overlap', overlap: 0.75 },
    });
  });

  it('says empty for MMC when no predicted id is tradable', () => {
    const p = Float64Array.of(0.1, 0.2, 0.3);
    const score = new TargetScorer(Float64Array.of(0, 0.5, 1), Float64Array.of(NaN, NaN, NaN)).score(rankCodes(p).codes);
    expectScore(score.corr, 1);
    expect(score.mmc.status).toBe('empty');
  });

  it('refuses codes over another universe', () => {
    expect(() => new TargetScorer(target, metaModel).score(new Uint16Array(3))).toThrow(RangeError);
    expect(() => new TargetScorer(target, Float64Array.of(1))).toThrow(RangeError);
  });

  it('agrees with corrScore and mmcScore on arbitrary partial predictions, targets and policies', () => {
    const row = fc.record({
      prediction: fc.oneof(fc.integer({ min: 0, max: 6 }).map((k) => k / 6), fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(NaN)),
      target: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 4 }).map((k) => k / 4), weight: 9 }, { arbitrary: fc.constant(NaN), weight: 1 }),
      signal: fc.oneof({ arbitrary: fc.double({ min: -3, max: 3, noNaN: true }), weight: 4 }, { arbitrary: fc.constant(NaN), weight: 1 }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), (rows) => {
        const p = Float64Array.from(rows, (r) => r.prediction);
        const t = Float64Array.from(rows, (r) => r.target);
        const s = Float64Array.from(rows, (r) => r.signal);
        const fast = new TargetScorer(t, s).score(rankCodes(p).codes);
        expectSameScore(fast.corr, corrScore(p, t));
        expectSameScore(fast.mmc, mmcScore(p, s, t));
      }),
      { numRuns: 500 },
    );
  });
});

function expectSameScore(actual: Score, expected: Score): void {
  expect(actual.status).toBe(expected.status);
  expect(actual.overlap).toBeCloseTo(expected.overlap, 15);
  if (expected.value === null) expect(actual.value).toBeNull();
  else expect(Math.abs((actual.value ?? NaN) - expected.value)).toBeLessThanOrEqual(1e-12);
}

describe('payoutFactor and payoutAmount', () => {
  const { params, totalAtRisk, payouts } = era.payout;

  it.each(models)('gives the reference payout of %s', (model) => {
    const amount = payoutAmount(era.stakes[model], era.corr[model], era.mmc[model], params, totalAtRisk);
    expect(Math.abs(amount - payouts[model])).toBeLessThanOrEqual(tolerance);
  });

  it('uses the reference parameters as defaults', () => {
    expect(DEFAULT_PAYOUT_PARAMS).toEqual(params);
  });

  it('clips at ±clip and scales by stakeThreshold / total at risk above the threshold', () => {
    expect(payoutFactor(0.02, 0.005, DEFAULT_PAYOUT_PARAMS, 1000)).toBeCloseTo(0.02, 15);
    expect(payoutFactor(0.02, 0.005, DEFAULT_PAYOUT_PARAMS, 144000)).toBeCloseTo(0.01, 15);
    expect(payoutFactor(0.5, 0.1, DEFAULT_PAYOUT_PARAMS, 1000)).toBe(0.05);
    expect(payoutFactor(-0.5, -0.1, DEFAULT_PAYOUT_PARAMS, 1000)).toBe(-0.05);
    expect(payoutFactor(0.2, 0, DEFAULT_PAYOUT_PARAMS, 0)).toBe(0.05);
  });

  it('neither pays nor burns a model without both scores', () => {
    expect(payoutFactor(null, 0.01, DEFAULT_PAYOUT_PARAMS, 1000)).toBe(0);
    expect(payoutFactor(0.01, null, DEFAULT_PAYOUT_PARAMS, 1000)).toBe(0);
    expect(payoutAmount(100, NaN, 0.01, DEFAULT_PAYOUT_PARAMS, 1000)).toBe(0);
  });
});
