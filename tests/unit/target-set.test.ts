import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rankCodes } from '../../src/domain/prepared.js';
import { TargetScorer } from '../../src/domain/target-scorer.js';
import { TargetSetScorer } from '../../src/domain/target-set.js';
import { reference } from '../support/reference.js';
import { rng } from '../support/rng.js';

const era = reference.era;
const BINS = [0, 0.25, 0.5, 0.75, 1];

function randomCase(seed: number, n: number) {
  const random = rng(seed);
  const target = (holes: number) => Float64Array.from({ length: n }, () => (random() < holes ? NaN : BINS[Math.floor(random() * 5)]));
  const signal = Float64Array.from({ length: n }, () => (random() < 0.1 ? NaN : random()));
  const submission = (missing: number) => rankCodes(Float64Array.from({ length: n }, () => (random() < missing ? NaN : Math.round(random() * 50) / 50))).codes;
  return { target, signal, submission };
}

describe('TargetSetScorer', () => {
  it('gives the reference CORR and MMC on the reference era', () => {
    const target = Float64Array.from(era.target);
    const scorer = new TargetSetScorer([target, target], Float64Array.from(era.unconstrained));
    for (const model of Object.keys(era.predictions)) {
      const codes = rankCodes(Float64Array.from(era.ids, (id) => era.predictions[model][id] ?? NaN)).codes;
      for (const { corr, mmc } of scorer.score(codes)) {
        expect(Math.abs(corr.value! - era.corr[model])).toBeLessThanOrEqual(reference.tolerance);
        expect(Math.abs(mmc.value! - era.mmc[model])).toBeLessThanOrEqual(reference.tolerance);
      }
    }
  });

  it('scores each target exactly as that target alone, whatever is scored with it', () => {
    const { target, signal, submission } = randomCase(11, 400);
    const targets = [target(0), target(0), target(0.05), target(0), target(0.05)];
    const together = new TargetSetScorer(targets, signal);
    const alone = targets.map((t) => new TargetSetScorer([t], signal));
    for (const missing of [0, 0, 0.03, 0.1, 0.5]) {
      const codes = submission(missing);
      const all = together.score(codes);
      targets.forEach((_, j) => expect(all[j]).toEqual(alone[j].score(codes)[0]));
    }
  });

  it('agrees with the per-target scorer to 1e-12 on random targets, signals and partial submissions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 5, max: 120 }), fc.constantFrom(0, 0, 0.02, 0.3), (seed, n, missing) => {
        const { target, signal, submission } = randomCase(seed, n);
        const targets = [target(0), target(0.04), target(0)];
        const set = new TargetSetScorer(targets, signal);
        const codes = submission(missing);
        const scores = set.score(codes);
        targets.forEach((t, j) => {
          const expected = new TargetScorer(t, signal).score(codes);
          for (const key of ['corr', 'mmc'] as const) {
            expect(scores[j][key].status).toBe(expected[key].status);
            if (expected[key].value === null) expect(scores[j][key].value).toBeNull();
            else expect(Math.abs(scores[j][key].value! - expected[key].value)).toBeLessThan(1e-12);
          }
        });
      }),
      { numRuns: 200 },
    );
  });
});
