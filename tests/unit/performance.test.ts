import { describe, expect, it } from 'vitest';
import { maxDrawdown, payoutReturn, summarizeSeries } from '../../src/domain/performance.js';

describe('summarizeSeries', () => {
  it('gives mean, population std, sharpe and max drawdown worked out by hand', () => {
    // mean 0.0125; deviations 0.0075, -0.0225, 0.0175, -0.0025: squares sum 0.000875, / 4 → std √0.00021875.
    // Cumulative 0.02, 0.01, 0.04, 0.05: peak 0.02 then 0.01, drawdown 0.01.
    const s = summarizeSeries([0.02, -0.01, 0.03, 0.01]);
    expect(s.mean).toBeCloseTo(0.0125, 15);
    expect(s.std).toBeCloseTo(Math.sqrt(0.00021875), 15);
    expect(s.sharpe).toBeCloseTo(0.0125 / Math.sqrt(0.00021875), 12);
    expect(s.maxDrawdown).toBeCloseTo(0.01, 15);
  });

  it('measures a drawdown from the starting zero, and a series that only falls from its first value', () => {
    expect(maxDrawdown([-0.02, -0.03, 0.01])).toBeCloseTo(0.05, 15);
    expect(maxDrawdown([0.01, 0.02])).toBe(0);
    expect(maxDrawdown([0.05, -0.01, 0.02, -0.04])).toBeCloseTo(0.04, 15);
  });

  it('has no sharpe for one value or a constant series (whose mean rounds away from its value)', () => {
    expect(summarizeSeries([0.03])).toEqual({ mean: 0.03, std: 0, sharpe: null, maxDrawdown: 0 });
    const constant = summarizeSeries([0.1, 0.1, 0.1]);
    expect(constant.std).toBe(0);
    expect(constant.sharpe).toBeNull();
  });

  it('is all null for no values', () => {
    expect(summarizeSeries([])).toEqual({ mean: null, std: null, sharpe: null, maxDrawdown: null });
  });
});

describe('payoutReturn', () => {
  it('divides total payout by total stake; null without a stake', () => {
    expect(payoutReturn('5', '200')).toBe(0.025);
    expect(payoutReturn('-1.5', '300')).toBe(-0.005);
    expect(payoutReturn('0', '0')).toBeNull();
  });
});
