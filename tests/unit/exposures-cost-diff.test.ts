import { describe, expect, it } from 'vitest';
import { bookWeights, exposureFeatures, exposureTo, signalExposures } from '../../src/domain/exposures.js';
import { enforcePolicy, type PolicyDocument } from '../../src/domain/policy/index.js';
import { leaveOneOutValues, policyCost, policyParts } from '../../src/domain/policy/cost.js';
import { diffPolicies } from '../../src/domain/policy/diff.js';
import { policyWarnings, universeVocabulary } from '../../src/domain/policy/warnings.js';
import { numeraiCorr } from '../../src/domain/scoring.js';
import { foldStakeDeciles } from '../../src/domain/report.js';
import type { StakeDecile } from '../../src/domain/stake-deciles.js';
import type { UniverseRow } from '../../src/domain/universe.js';

const row = (id: string, extra: Partial<UniverseRow> = {}): UniverseRow => ({ id, sector: '10', industry: null, country: null, tags: [], attributes: {}, ...extra });

describe('exposures (docs/reports.md, exposures), by hand', () => {
  it('weights the tie-kept rank into a dollar-neutral book of gross 1 and takes each leg over the covered ids', () => {
    // ranks 0.875, 0.125, 0.625, 0.375 (mean 0.5): w = .375, −.375, .125, −.125; the fifth id has no signal.
    const w = bookWeights([4, 1, 3, 2, NaN]);
    expect(Array.from(w.subarray(0, 4))).toEqual([0.375, -0.375, 0.125, -0.125]);
    expect(Number.isNaN(w[4])).toBe(true);
    // a: id 2 lacks it (not covered); id 4 has it but is not in the book (counts for the universe mean only).
    const e = exposureTo(w, Float64Array.from([1, 2, NaN, 4, 10]), 1)!;
    expect(e.long).toBeCloseTo(1, 15); // .375·1 / .375
    expect(e.short).toBeCloseTo(2.5, 15); // (.375·2 + .125·4) / .5
    expect(e.net).toBeCloseTo(-1, 15); // (.375 − .75 − .5) / .875
    expect(e.coverage).toBeCloseTo(0.875, 15);
    expect(e.universe).toBe(4.25);
  });

  it('publishes no attribute fewer than 5 ids have, no tag fewer than 5 carry, no leg of fewer than 5 ids', () => {
    const universe = Array.from({ length: 12 }, (_, i) =>
      row(`i${i}`, { tags: i < 5 ? ['common'] : i < 7 ? ['rare'] : [], attributes: { wide: i, narrow: i < 4 ? i : 'n/a', text: 'x' } }),
    );
    const e = signalExposures(Float64Array.from(universe, (_, i) => i), exposureFeatures(universe));
    expect(Object.keys(e.attributes)).toEqual(['wide']);
    expect(Object.keys(e.tags)).toEqual(['common']);
    // 'common' sits on ids 0–4, all in the short leg (below the middle rank): the long leg holds none of it.
    expect(e.tags.common.long).toBe(0);
    expect(e.tags.common.short).toBeGreaterThan(0);
    const few = signalExposures(Float64Array.from(universe, (_, i) => (i < 8 ? NaN : i)), exposureFeatures(universe));
    expect(few.attributes.wide).toMatchObject({ long: null, short: null });
  });
});

describe('the cost of the policy (docs/reports.md, cost of the policy)', () => {
  const universe = Array.from({ length: 40 }, (_, i) => row(`c${i}`, { sector: ['10', '20', '30'][i % 3], tags: i % 6 === 1 ? ['tobacco'] : [], attributes: { controversy: i % 5 } }));
  const m = Float64Array.from(universe, (_, i) => Math.sin(i * 1.7) + i / 40);
  const target = Float64Array.from(universe, (_, i) => [0, 0.25, 0.5, 0.75, 1][(i * 7) % 5]);
  const policy: PolicyDocument = {
    name: 'p',
    mode: 'enforce',
    onMissingData: 'ignore',
    rules: [
      { id: 'tobacco', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude', side: 'both' } },
      { id: 'controversy', match: { field: 'attributes.controversy', op: 'gte', value: 4 }, action: { type: 'scale', multiplier: 0.5 } },
    ],
    neutralize: { by: 'sector', proportion: 1 },
  };

  it('leaves out each rule and the neutralization in turn, everything else the same', () => {
    expect(policyParts(policy).map((p) => p.ruleId)).toEqual(['tobacco', 'controversy', 'neutralize:sector']);
    const value = enforcePolicy(policy, universe, m).value;
    const parts = leaveOneOutValues(policy, universe, m);
    const cost = policyCost(m, value, parts, target);
    expect(cost.cost).toBe(cost.unconstrained! - cost.traded!);
    expect(cost.traded).toBe(numeraiCorr(value, target));
    const withoutTobacco = enforcePolicy({ ...policy, rules: [policy.rules[1]] }, universe, m).value;
    expect(cost.byRule[0]).toEqual({ ruleId: 'tobacco', action: 'exclude', cost: numeraiCorr(withoutTobacco, target) - cost.traded! });
    const withoutNeutralize = enforcePolicy({ ...policy, neutralize: undefined }, universe, m).value;
    expect(cost.byRule[2].cost).toBe(numeraiCorr(withoutNeutralize, target) - cost.traded!);
  });

  it('is zero with no policy: the traded value is M ranked', () => {
    const value = enforcePolicy({ ...policy, rules: [], neutralize: undefined }, universe, m).value;
    expect(policyCost(m, value, [], target)).toEqual({ unconstrained: numeraiCorr(m, target), traded: numeraiCorr(m, target), cost: 0, byRule: [] });
  });
});

describe('stake deciles folded to at least 5 models', () => {
  const deciles = (models: number[]): StakeDecile[] => models.map((n, d) => ({ decile: d + 1, models: n, stake: n * 10, sectorMeans: n === 0 ? null : {} }));

  it('folds from the largest stakes down; a remainder joins the last group; fewer than 5 models are withheld', () => {
    expect(foldStakeDeciles(deciles([2, 1, 1, 1, 1, 2, 1, 1, 1, 1]))!.map((g) => [g.firstDecile, g.lastDecile, g.models])).toEqual([
      [1, 4, 5],
      [5, 10, 7],
    ]);
    expect(foldStakeDeciles(deciles([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]))!.map((g) => g.models)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(foldStakeDeciles(deciles([1, 0, 0, 1, 0, 0, 0, 1, 0, 0]))).toBeNull();
    expect(foldStakeDeciles(deciles([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]))!.map((g) => [g.firstDecile, g.lastDecile])).toEqual([[1, 10]]);
  });
});

describe('diff between two versions', () => {
  const base: PolicyDocument = {
    name: 'd',
    mode: 'enforce',
    onMissingData: 'ignore',
    rules: [
      { id: 'a', match: { field: 'tags', op: 'contains', value: 'x' }, action: { type: 'exclude', side: 'both' } },
      { id: 'b', match: { field: 'tags', op: 'contains', value: 'y' }, action: { type: 'observe' } },
    ],
  };

  it('lists rules added, removed and changed by id, and the other fields that differ', () => {
    const next: PolicyDocument = {
      ...base,
      mode: 'shadow',
      rules: [
        { id: 'a', rationale: 'why', match: { field: 'tags', op: 'contains', value: 'x' }, action: { type: 'exclude', side: 'long' } },
        { id: 'c', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } },
      ],
    };
    const diff = diffPolicies(base, next);
    expect(diff.rules.added.map((r) => r.id)).toEqual(['c']);
    expect(diff.rules.removed.map((r) => r.id)).toEqual(['b']);
    expect(diff.rules.changed.map((c) => [c.id, c.fields])).toEqual([['a', ['action', 'rationale']]]);
    expect(diff.fields).toEqual([{ field: 'mode', from: 'enforce', to: 'shadow' }]);
    expect(diffPolicies(base, base)).toEqual({ rules: { added: [], removed: [], changed: [] }, fields: [] });
  });
});

describe('policy warnings', () => {
  const vocabulary = universeVocabulary([{ era: 7, rows: [row('w1', { sector: 'Energy', tags: ['coal'], attributes: { carbon: 1, rating: 'AA' } })] }]);
  const doc = (match: object): PolicyDocument => ({ name: 'w', mode: 'enforce', onMissingData: 'ignore', rules: [{ id: 'r', match, action: { type: 'exclude', side: 'both' } } as PolicyDocument['rules'][number]] });

  it('names what no recent universe has, with a hint when the data has something close', () => {
    expect(policyWarnings(doc({ field: 'attributes.carbn', op: 'gte', value: 1 }), vocabulary)[0].message).toMatch(/no id has attribute 'carbn'; did you mean 'attributes.carbon'\? \(era 7\)/);
    expect(policyWarnings(doc({ field: 'sector', op: 'eq', value: 'energy' }), vocabulary)[0].message).toMatch(/the data has 'Energy'/);
    expect(policyWarnings(doc({ field: 'tags', op: 'contains', value: 'Coal' }), vocabulary)[0].message).toMatch(/no id has the tag 'Coal'.*'coal'/);
    expect(policyWarnings(doc({ field: 'attributes.rating', op: 'gt', value: 1 }), vocabulary)[0].message).toMatch(/holds only strings/);
    expect(policyWarnings(doc({ field: 'industry', op: 'prefix', value: '30' }), vocabulary)[0].message).toMatch(/no id has an industry/);
    expect(policyWarnings(doc({ field: 'sector', op: 'in', value: ['Energy'] }), vocabulary)).toEqual([]);
    expect(policyWarnings(doc({ field: 'tags', op: 'contains', value: 'coal' }), vocabulary)).toEqual([]);
    expect(policyWarnings(doc({ field: 'sector', op: 'eq', value: 'x' }), universeVocabulary([]))[0].message).toMatch(/no era has a universe yet/);
  });
});
