import { describe, expect, it } from 'vitest';
import { StakeWeightedMean } from '../../src/domain/metamodel.js';
import { decodeRankCodes, encodeRankCodes, rankCodes } from '../../src/domain/prepared.js';
import { change, decileContributions, tiltBeforeAfter } from '../../src/domain/report.js';
import { StakeDecileMeans, stakeDeciles, type StakeDecile } from '../../src/domain/stake-deciles.js';
import { sectorLabels } from '../../src/domain/universe-counts.js';
import { sectorTilt } from '../../src/domain/stats.js';
import { reference } from '../support/reference.js';

const { era } = reference;
const models = Object.keys(era.predictions);

function storedCodes(model: string) {
  const { codes, covered } = rankCodes(Float64Array.from(era.ids, (id) => era.predictions[model][id] ?? NaN));
  return { codes: decodeRankCodes(encodeRankCodes(codes)), covered };
}

/** Streams the reference models into the per-decile means, as a close does. */
function referenceDeciles(sectors: (string | null)[]) {
  const stakes = models.map((m) => era.stakes[m]);
  const byDecile = new StakeDecileMeans(era.ids.length, stakeDeciles(stakes));
  models.forEach((m, k) => {
    const { codes, covered } = storedCodes(m);
    byDecile.add(k, codes, covered, stakes[k]);
  });
  return byDecile.bySector(sectors);
}

describe('stakeDeciles', () => {
  it('spreads the four reference stakes over deciles by rank: ⌊10r/4⌋', () => {
    // alpha 100 (rank 0), beta 50 (1), delta 25.5 (2), gamma 10 (3)
    expect([...stakeDeciles(models.map((m) => era.stakes[m]))]).toEqual(models.map((m) => ({ alpha: 0, beta: 2, delta: 5, gamma: 7 })[m]));
  });

  it('puts two models in each decile of twenty, ties in input order', () => {
    const deciles = stakeDeciles(Array.from({ length: 20 }, () => 1));
    expect([...deciles]).toEqual(Array.from({ length: 20 }, (_, k) => Math.floor(k / 2)));
  });

  it('gives each of ten models its own decile, largest first', () => {
    expect([...stakeDeciles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect([...stakeDeciles([])]).toEqual([]);
  });
});

describe('decile attribution', () => {
  it('splits a hand-computed tilt: stakes 3 and 1 with sector means 1 and −1', () => {
    const empty = (decile: number): StakeDecile => ({ decile, models: 0, stake: 0, sectorMeans: null });
    const deciles: StakeDecile[] = Array.from({ length: 10 }, (_, d) => empty(d + 1));
    deciles[0] = { decile: 1, models: 1, stake: 3, sectorMeans: { a: 1, other: 0 } };
    deciles[4] = { decile: 5, models: 2, stake: 1, sectorMeans: { a: -1, other: 2 } };
    expect(decileContributions(deciles, 'a')).toEqual([0.75, 0, 0, 0, -0.25, 0, 0, 0, 0, 0]);
    expect(decileContributions(deciles, 'other')).toEqual([0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0]);
  });

  it('sums exactly to the sector tilt of the reference meta-model, with sectors of five or more', () => {
    const sectors = era.ids.map((_, i) => (i < 6 ? 'x' : i < 11 ? 'y' : null));
    const deciles = referenceDeciles(sectors);
    expect(deciles.map((d) => d.models)).toEqual([1, 0, 1, 0, 0, 1, 0, 1, 0, 0]);
    expect(deciles.reduce((s, d) => s + d.stake, 0)).toBe(185.5);
    const tilt = sectorTilt(era.unconstrained, sectors);
    expect(tilt.map((g) => g.group)).toEqual(['x', 'y', 'other']);
    for (const { group, mean } of tilt) {
      const parts = decileContributions(deciles, group);
      expect(parts).toHaveLength(10);
      expect(Math.abs(parts.reduce((a, b) => a + b, 0) - mean)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('folds the reference sectors (three ids each) into other, whose tilt is the mean of M', () => {
    const deciles = referenceDeciles(era.sectors);
    const mean = era.unconstrained.reduce((a, b) => a + b, 0) / era.unconstrained.length;
    for (const d of deciles) if (d.sectorMeans) expect(Object.keys(d.sectorMeans)).toEqual(['other']);
    expect(Math.abs(decileContributions(deciles, 'other').reduce((a, b) => a + b, 0) - mean)).toBeLessThanOrEqual(1e-12);
  });

  it('sums the reference meta-model by decile: Σ_d (S_d / S)·M_d = M', () => {
    const stakes = models.map((m) => era.stakes[m]);
    const byDecile = new StakeDecileMeans(era.ids.length, stakeDeciles(stakes));
    const direct = new StakeWeightedMean(era.ids.length);
    models.forEach((m, k) => {
      const { codes, covered } = storedCodes(m);
      byDecile.add(k, codes, covered, stakes[k]);
      direct.add(codes, covered, stakes[k]);
    });
    expect(byDecile.models).toBe(4);
    const m = byDecile.result();
    const d = direct.result();
    era.unconstrained.forEach((expected, i) => {
      expect(Math.abs(m[i] - expected)).toBeLessThanOrEqual(reference.tolerance);
      expect(Math.abs(m[i] - d[i])).toBeLessThanOrEqual(1e-15);
    });
    expect([...new StakeDecileMeans(3, stakeDeciles([])).result()]).toEqual([0, 0, 0]);
  });

  it('holds each decile mean M_d: the largest stake decile is alpha alone', () => {
    const sectors = era.ids.map((_, i) => (i < 6 ? 'x' : 'y'));
    const alpha = new StakeWeightedMean(era.ids.length);
    const { codes, covered } = storedCodes('alpha');
    alpha.add(codes, covered, 1);
    const expected = sectorTilt(alpha.result(), sectors);
    const [top] = referenceDeciles(sectors);
    expect(top).toMatchObject({ decile: 1, models: 1, stake: 100 });
    expect(top.sectorMeans!.x).toBeCloseTo(expected[0].mean, 15);
    expect(top.sectorMeans!.y).toBeCloseTo(expected[1].mean, 15);
  });
});

describe('tiltBeforeAfter', () => {
  it('means M over every id and S over the tradable ones, per sector of five or more', () => {
    const m = Float64Array.from([1, 2, 3, 4, 5, -1, -2, -3, -4, -5, 9]);
    const s = Float64Array.from([1, NaN, 3, NaN, 5, NaN, NaN, NaN, NaN, NaN, 7]);
    const sectors = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c'];
    expect(tiltBeforeAfter(m, s, sectors)).toEqual([
      { sector: 'a', ids: 5, unconstrained: 3, traded: 3 },
      { sector: 'b', ids: 5, unconstrained: -3, traded: NaN },
      { sector: 'other', ids: 1, unconstrained: 9, traded: 7 },
    ]);
  });

  it('treats an empty sector as none', () => {
    expect(sectorLabels([{ sector: '10' }, { sector: '' }, { sector: null }])).toEqual(['10', null, null]);
  });
});

describe('change', () => {
  it('is the later minus the earlier, null when either is missing', () => {
    expect(change(0.25, 0.5)).toBe(0.25);
    expect(change(null, 0.5)).toBeNull();
    expect(change(0.5, undefined)).toBeNull();
  });
});
