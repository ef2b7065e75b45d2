import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyPolicy, enforcePolicy, groupIndex, neutralizeByGroup, parsePolicy, type PolicyDocument } from '../../src/domain/policy/index.js';
import { tieKeptRank } from '../../src/domain/rank.js';
import type { UniverseRow } from '../../src/domain/universe.js';

const numbers = z.array(z.number());
const reference = z
  .object({
    tolerance: z.number(),
    era: z.object({
      ids: z.array(z.string()),
      sectors: z.array(z.string()),
      unconstrained: numbers,
      value: numbers,
      exclusion: z.object({ excluded: z.array(z.string()), tradable: z.array(z.string()), value: numbers }),
      neutralize: z.object({ by: z.literal('sector'), proportion1: numbers, proportion05: numbers }),
    }),
  })
  .parse(JSON.parse(readFileSync(new URL('../fixtures/numerai_reference.json', import.meta.url), 'utf8')));

const era = reference.era;
const tolerance = reference.tolerance;
const M = Float64Array.from(era.unconstrained);
const eraUniverse: UniverseRow[] = era.ids.map((id, i) => ({ id, sector: era.sectors[i], industry: null, country: null, tags: [], attributes: {} }));

function policyOf(input: Record<string, unknown>): PolicyDocument {
  const parsed = parsePolicy({ name: 'test', rules: [], ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

function expectClose(actual: ArrayLike<number>, expected: number[], within = tolerance): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) expect(actual[i]).toBeNaN();
    else expect(Math.abs(actual[i] - e)).toBeLessThanOrEqual(within);
  });
}

function row(id: string, sector: string | null, extra: Partial<UniverseRow> = {}): UniverseRow {
  return { id, sector, industry: null, country: null, tags: [], attributes: {}, ...extra };
}

const noLists = (n: number): string[][] => Array.from({ length: n }, () => []);

describe('numerai-tools reference (era)', () => {
  it('no policy: every id tradable, S = M, value = tie-kept rank of M', () => {
    const result = applyPolicy(null, eraUniverse, M);
    expect(result.mode).toBe('none');
    expect(Array.from(result.tradable)).toEqual(new Array(12).fill(1));
    expect(Array.from(result.signal)).toEqual(era.unconstrained);
    expectClose(result.value, era.value);
    expect(result.excludedBy).toEqual(noLists(12));
    expect(result.shadowResult).toBeNull();
  });

  it('era.exclusion: excluding id00 and id02 ranks the rest over the tradable ids', () => {
    const policy = policyOf({ rules: [{ id: 'manual', match: { field: 'id', op: 'in', value: ['id00', 'id02'] }, action: { type: 'exclude' } }] });
    const result = applyPolicy(policy, eraUniverse, M);
    expect(era.ids.filter((_, i) => result.tradable[i] === 0)).toEqual(era.exclusion.excluded);
    expect(era.ids.filter((_, i) => result.tradable[i] === 1)).toEqual(era.exclusion.tradable);
    expectClose(
      era.ids.flatMap((_, i) => (result.tradable[i] === 1 ? [result.value[i]] : [])),
      era.exclusion.value,
    );
    expect(result.value[0]).toBeNaN();
    expect(result.signal[2]).toBeNaN();
    expect(result.excludedBy[0]).toEqual(['manual']);
    expect(result.excludedBy[1]).toEqual([]);
    expect(result.ruleCounts).toEqual([
      { ruleId: 'manual', description: null, action: { type: 'exclude', side: 'both' }, matched: 2, missingData: 0, excluded: 2, observed: 0 },
    ]);
  });

  it.each([
    [1, era.neutralize.proportion1],
    [0.5, era.neutralize.proportion05],
  ])('era.neutralize by sector with proportion %s (least squares on one-hot plus intercept, no rescaling)', (proportion, expected) => {
    expectClose(neutralizeByGroup(M, groupIndex(eraUniverse, 'sector'), proportion), expected);
    const result = applyPolicy(policyOf({ neutralize: { by: 'sector', proportion } }), eraUniverse, M);
    expectClose(result.signal, expected);
    expectClose(result.value, Array.from(tieKeptRank(expected)));
  });
});

describe('order of the steps', () => {
  const universe = [row('a', '10'), row('b', '10'), row('c', '20'), row('d', '20')];
  const signal = Float64Array.of(1, 3, -2, 0);

  it('side limits and neutralization hold together on the final S', () => {
    const policy = policyOf({
      rules: [
        { id: 'no-long-a', match: { field: 'id', op: 'eq', value: 'a' }, action: { type: 'exclude', side: 'long' } },
        { id: 'no-short-c', match: { field: 'id', op: 'eq', value: 'c' }, action: { type: 'exclude', side: 'short' } },
      ],
      neutralize: { by: 'sector' },
    });
    const result = applyPolicy(policy, universe, signal);
    // neutralized [−1, 1, −1, 1]: a is already short so the long limit leaves it; c may not be short and sector 20
    // must stay neutral, so the nearest point has c = d = 0
    expect(Array.from(result.signal)).toEqual([-1, 1, 0, 0]);
    expect(Array.from(result.value)).toEqual([0.125, 0.875, 0.5, 0.5]);
    expect(Array.from(result.tradable)).toEqual([1, 1, 1, 1]);
    expect(result.excludedBy).toEqual([['no-long-a'], [], ['no-short-c'], []]);
  });

  it('an id both scaled and excluded is excluded; multipliers multiply', () => {
    const policy = policyOf({
      rules: [
        { id: 'half', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'scale', multiplier: 0.5 } },
        { id: 'out', match: { field: 'id', op: 'eq', value: 'a' }, action: { type: 'exclude' } },
        { id: 'half-again', match: { field: 'id', op: 'in', value: ['a', 'b'] }, action: { type: 'scale', multiplier: 0.5 } },
      ],
    });
    const result = applyPolicy(policy, universe, signal);
    expect(Array.from(result.signal)).toEqual([NaN, 0.75, -2, 0]);
    expect(Array.from(result.value)).toEqual([NaN, 5 / 6, 1 / 6, 0.5]);
    expect(result.excludedBy).toEqual([['out'], [], [], []]);
    expect(result.ruleCounts.map((c) => [c.ruleId, c.matched, c.excluded])).toEqual([
      ['half', 2, 0],
      ['out', 1, 1],
      ['half-again', 2, 0],
    ]);
  });

  it('scale before neutralization, then the group cap, then ranking over T', () => {
    const policy = policyOf({
      rules: [
        { id: 'quarter', match: { field: 'id', op: 'eq', value: 'b' }, action: { type: 'scale', multiplier: 0.25 } },
        { id: 'out', match: { field: 'id', op: 'eq', value: 'd' }, action: { type: 'exclude' } },
      ],
      neutralize: { by: 'sector', proportion: 0.5 },
      groupCap: { by: 'sector', maxAbsMean: 0.5 },
    });
    const result = applyPolicy(policy, universe, signal);
    // scaled [1, 0.75, −2, ·]; half-neutralized: sector 10 mean 0.875 → [0.5625, 0.3125], sector 20 (c alone) mean −2 → [−1];
    // cap 0.5: sector 10 mean 0.4375 stays, sector 20 mean −1 shifts to −0.5
    expect(Array.from(result.signal)).toEqual([0.5625, 0.3125, -0.5, NaN]);
    expect(Array.from(result.value)).toEqual([5 / 6, 0.5, 1 / 6, NaN]);
  });

  it('records every exclude rule that matches, and observe only flags', () => {
    const policy = policyOf({
      rules: [
        { id: 'watch', match: { field: 'sector', op: 'eq', value: '20' }, action: { type: 'observe' } },
        { id: 'first', match: { field: 'id', op: 'in', value: ['a', 'c'] }, action: { type: 'exclude' } },
        { id: 'second', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'exclude', side: 'long' } },
      ],
    });
    const result = applyPolicy(policy, universe, signal);
    expect(result.excludedBy).toEqual([['first', 'second'], ['second'], ['first'], []]);
    expect(result.observedBy).toEqual([[], [], ['watch'], ['watch']]);
    expect(Array.from(result.tradable)).toEqual([0, 1, 0, 1]);
    // b is long-limited: 3 → 0
    expect(Array.from(result.signal)).toEqual([NaN, 0, NaN, 0]);
    expect(Array.from(result.value)).toEqual([NaN, 0.5, NaN, 0.5]);
    expect(result.ruleCounts.map((c) => [c.ruleId, c.matched, c.excluded, c.observed])).toEqual([
      ['watch', 2, 0, 2],
      ['first', 2, 2, 0],
      ['second', 2, 2, 0],
    ]);
  });
});

describe('onMissingData', () => {
  const universe = [
    row('a', '10', { attributes: { coal: 0.05, controversy: 5 } }),
    row('b', '10', { attributes: { coal: 0 } }),
    row('c', '20'),
    row('d', null, { attributes: { coal: 0, controversy: 1 } }),
  ];
  const signal = Float64Array.of(0.4, -0.2, 0.9, -0.7);
  const rules = [
    { id: 'coal', description: 'thermal coal ≥ 1 %', match: { field: 'attributes.coal', op: 'gte', value: 0.01 }, action: { type: 'exclude' } },
    { id: 'controversy', match: { field: 'attributes.controversy', op: 'gte', value: 4 }, action: { type: 'scale', multiplier: 0.5 } },
    { id: 'not-tech', match: { field: 'sector', op: 'neq', value: '45' }, action: { type: 'observe' } },
  ];

  it("'ignore': a comparison on a missing value does not match, neq included", () => {
    const result = applyPolicy(policyOf({ rules }), universe, signal);
    expect(Array.from(result.tradable)).toEqual([0, 1, 1, 1]);
    expect(Array.from(result.signal)).toEqual([NaN, -0.2, 0.9, -0.7]);
    expect(result.excludedBy).toEqual([['coal'], [], [], []]);
    expect(result.observedBy).toEqual([['not-tech'], ['not-tech'], ['not-tech'], []]);
    expect(result.ruleCounts).toEqual([
      { ruleId: 'coal', description: 'thermal coal ≥ 1 %', action: { type: 'exclude', side: 'both' }, matched: 1, missingData: 1, excluded: 1, observed: 0 },
      { ruleId: 'controversy', description: null, action: { type: 'scale', multiplier: 0.5 }, matched: 1, missingData: 2, excluded: 0, observed: 0 },
      { ruleId: 'not-tech', description: null, action: { type: 'observe' }, matched: 3, missingData: 1, excluded: 0, observed: 3 },
    ]);
  });

  it("'exclude': an id whose verdict needs a missing value leaves T, attributed to the rule; observe rules only flag", () => {
    const result = applyPolicy(policyOf({ rules, onMissingData: 'exclude' }), universe, signal);
    expect(Array.from(result.tradable)).toEqual([0, 0, 0, 1]);
    expect(result.excludedBy).toEqual([['coal'], ['controversy'], ['coal', 'controversy'], []]);
    expect(result.observedBy).toEqual([['not-tech'], ['not-tech'], ['not-tech'], ['not-tech']]);
    expect(Array.from(result.value)).toEqual([NaN, NaN, NaN, 0.5]);
    expect(result.ruleCounts.map((c) => [c.ruleId, c.matched, c.missingData, c.excluded, c.observed])).toEqual([
      ['coal', 1, 1, 2, 0],
      ['controversy', 1, 2, 2, 0],
      ['not-tech', 3, 1, 0, 4],
    ]);
  });

  it("'exclude' does not fail closed when the missing value cannot change the verdict", () => {
    const match = { any: [{ field: 'sector', op: 'eq', value: '20' }, { field: 'attributes.coal', op: 'gte', value: 0.01 }] };
    const policy = policyOf({ onMissingData: 'exclude', rules: [{ id: 'either', match, action: { type: 'exclude' } }] });
    const result = applyPolicy(policy, [row('x', '20'), row('y', '10', { attributes: { coal: 0 } }), row('z', '10')], Float64Array.of(1, 2, 3));
    // x matches on sector alone; y is decided by its coal; only z is undecidable
    expect(result.excludedBy).toEqual([['either'], [], ['either']]);
    expect(result.ruleCounts[0]).toMatchObject({ matched: 1, missingData: 1, excluded: 2 });
  });

  it('ids missing the neutralization field form their own group', () => {
    const result = applyPolicy(policyOf({ neutralize: { by: 'sector' } }), [row('a', '10'), row('b', null), row('c', '10'), row('d', '')], Float64Array.of(1, 2, 3, 6));
    expect(Array.from(result.signal)).toEqual([-1, -2, 1, 2]);
  });
});

describe('shadow mode', () => {
  it('leaves tradable, S and value unconstrained, and reports the would-be result', () => {
    const input = {
      mode: 'shadow',
      rules: [{ id: 'manual', match: { field: 'id', op: 'in', value: ['id00', 'id02'] }, action: { type: 'exclude' } }],
      neutralize: { by: 'sector' },
    };
    const result = applyPolicy(policyOf(input), eraUniverse, M);
    expect(result.mode).toBe('shadow');
    expect(Array.from(result.tradable)).toEqual(new Array(12).fill(1));
    expect(Array.from(result.signal)).toEqual(era.unconstrained);
    expectClose(result.value, era.value);
    expect(result.excludedBy).toEqual(noLists(12));
    expect(result.ruleCounts).toEqual([]);
    expect(result.shadowResult).toEqual(enforcePolicy(policyOf({ ...input, mode: 'enforce' }), eraUniverse, M));
    expect(result.shadowResult?.excludedBy[2]).toEqual(['manual']);
    expect(Array.from(result.shadowResult?.tradable ?? [])).toEqual([0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});

describe('inputs', () => {
  it('refuses a signal that does not line up with the universe or is not finite', () => {
    expect(() => applyPolicy(null, eraUniverse, M.subarray(1))).toThrow('universe has 12 ids but the signal has 11 values');
    expect(() => applyPolicy(null, [row('a', '10')], Float64Array.of(NaN))).toThrow('unconstrained signal is not finite at a');
  });
});

describe('a Numerai-sized era', () => {
  it('applies the reference example policy to 6,000 ids', () => {
    const n = 6000;
    const universe = Array.from({ length: n }, (_, i): UniverseRow => {
      const attributes: Record<string, number> = i % 3 === 0 ? {} : { thermal_coal_revenue_share: (i % 40) / 1000, controversy: i % 5 };
      const tags = i % 50 === 0 ? ['defense'] : [];
      return { id: `id${i}`, sector: String(10 + (i % 11) * 5), industry: i % 100 === 0 ? '302030' : '101010', country: i % 7 === 0 ? null : 'US', tags, attributes };
    });
    const signal = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 1.5);
    const policy = policyOf({
      rules: [
        { id: 'tobacco', match: { any: [{ field: 'industry', op: 'prefix', value: '302030' }, { field: 'tags', op: 'contains', value: 'tobacco' }] }, action: { type: 'exclude' } },
        { id: 'coal-1pct', match: { field: 'attributes.thermal_coal_revenue_share', op: 'gte', value: 0.01 }, action: { type: 'exclude', side: 'long' } },
        { id: 'controversy', match: { field: 'attributes.controversy', op: 'gte', value: 4 }, action: { type: 'scale', multiplier: 0.5 } },
        { id: 'weapons-watch', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
        { id: 'us-only', match: { field: 'country', op: 'neq', value: 'US' }, action: { type: 'exclude' } },
      ],
      neutralize: { by: 'sector' },
      groupCap: { by: 'sector', maxAbsMean: 0.1 },
    });
    const result = applyPolicy(policy, universe, signal);
    expect(result.ruleCounts.map((c) => [c.ruleId, c.matched, c.excluded, c.observed])).toEqual([
      ['tobacco', 60, 60, 0],
      // attributes on i % 3 ≠ 0; coal ≥ 1 % on i % 40 ≥ 10: 2·30 of every 120 ids
      ['coal-1pct', 3000, 3000, 0],
      // controversy 4 on i % 5 = 4: 2 of every 15 ids
      ['controversy', 800, 0, 0],
      ['weapons-watch', 120, 0, 120],
      // country null on i % 7 = 0: missing data, ignored
      ['us-only', 0, 0, 0],
    ]);
    expect(result.tradable.reduce((s, t) => s + t, 0)).toBe(n - 60);
  });
});
