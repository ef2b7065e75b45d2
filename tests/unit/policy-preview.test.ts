import { describe, expect, it } from 'vitest';
import { applyPolicy, parsePolicy, type PolicyDocument } from '../../src/domain/policy/index.js';
import { policyEffect, sectorExposure, sectorTurnover } from '../../src/domain/policy/preview.js';
import { policyRunReport, sparseRuleIds } from '../../src/domain/policy/run-report.js';
import type { UniverseRow } from '../../src/domain/universe.js';

function policyOf(input: Record<string, unknown>): PolicyDocument {
  const parsed = parsePolicy({ name: 'test', rules: [], ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

const row = (id: string, sector: string | null, tags: string[] = []): UniverseRow => ({ id, sector, industry: null, country: null, tags, attributes: {} });

// Ten ids: sector a (5), sector b (5) — b's last id has no sector, so b has 4 and 'other' 1 after folding.
const universe: UniverseRow[] = [
  row('a0', 'a', ['tobacco']),
  row('a1', 'a'),
  row('a2', 'a', ['defense']),
  row('a3', 'a'),
  row('a4', 'a'),
  row('b0', 'b'),
  row('b1', 'b', ['tobacco']),
  row('b2', 'b'),
  row('b3', 'b'),
  row('x0', null),
];
const M = Float64Array.from([-1.5, -0.5, 0.2, 0.9, 1.4, -1.1, 0.3, 0.6, 1.2, -0.4]);

const tobacco = { id: 'tobacco', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude' } };
const watch = { id: 'watch', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } };
const halve = { id: 'halve', match: { field: 'id', op: 'in', value: ['a3', 'b2'] }, action: { type: 'scale', multiplier: 0.5 } };

describe('sectorExposure', () => {
  it('sums the dollar-neutral book w = (x − x̄) / Σ|x − x̄| per sector over the ids with a value', () => {
    const exposure = sectorExposure(Float64Array.from([1, 2, 3, NaN]), ['a', 'a', 'b', 'b']);
    expect([...exposure]).toEqual([
      ['a', -0.5],
      ['b', 0.5],
    ]);
  });

  it('is empty with no values and zero with no spread', () => {
    expect(sectorExposure(Float64Array.from([NaN]), ['a']).size).toBe(0);
    expect([...sectorExposure(Float64Array.from([2, 2]), ['a', 'b'])]).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
  });
});

describe('sectorTurnover', () => {
  it('is half the L1 distance, a sector missing on one side counting zero there', () => {
    const a = new Map([['a', -0.5], ['b', 0.5]]);
    expect(sectorTurnover(a, a)).toBe(0);
    expect(sectorTurnover(a, new Map([['a', 0.5], ['b', -0.5]]))).toBe(1);
    expect(sectorTurnover(new Map([['a', 0.2]]), new Map([['b', -0.2]]))).toBeCloseTo(0.2, 15);
    expect(sectorTurnover(new Map([['a', 0.2]]), new Map([['b', -0.2]]))).toBe(sectorTurnover(new Map([['b', -0.2]]), new Map([['a', 0.2]])));
  });
});

describe('policyEffect', () => {
  it('counts exclusions, observations and scaling per rule with shares of the universe', () => {
    const effect = policyEffect(policyOf({ rules: [tobacco, watch, halve] }), universe, M);
    expect(effect).toMatchObject({ universeSize: 10, tradable: 8, excluded: { count: 2, share: 0.2 }, observed: { count: 1, share: 0.1 } });
    const byRule = Object.fromEntries(effect.byRule.map((r) => [r.ruleId, r]));
    expect(byRule.tobacco).toMatchObject({ matched: 2, excluded: 2, observed: 0, share: 0.2 });
    expect(byRule.watch).toMatchObject({ matched: 1, excluded: 0, observed: 1, share: 0.1 });
    expect(byRule.halve).toMatchObject({ matched: 2, excluded: 0, observed: 0, share: 0.2 });
  });

  it('reports the sector tilt of M and of S (over T), folding small sectors into other', () => {
    const effect = policyEffect(policyOf({ rules: [tobacco, halve] }), universe, M);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(effect.sectorTilt.map((s) => s.sector)).toEqual(['a', 'other']);
    const [a, other] = effect.sectorTilt;
    expect(a.ids).toBe(5);
    expect(a.before).toBeCloseTo(mean([-1.5, -0.5, 0.2, 0.9, 1.4]), 15);
    expect(a.after).toBeCloseTo(mean([-0.5, 0.2, 0.45, 1.4]), 15);
    expect(other.ids).toBe(5);
    expect(other.before).toBeCloseTo(mean([-1.1, 0.3, 0.6, 1.2, -0.4]), 15);
    expect(other.after).toBeCloseTo(mean([-1.1, 0.3, 1.2, -0.4]), 15);
  });

  it('has Spearman 1 when the policy only removes ids, below 1 when it reorders them', () => {
    expect(policyEffect(policyOf({ rules: [tobacco] }), universe, M).spearman).toBeCloseTo(1, 15);
    const neutral = policyEffect(policyOf({ rules: [tobacco], neutralize: { by: 'sector' } }), universe, M);
    expect(neutral.spearman).toBeLessThan(1);
    // Neutralized: every sector's exposure is zero, so the book takes no sector bet.
    for (const v of neutral.sectorExposure.values()) expect(Math.abs(v)).toBeLessThan(1e-15);
  });

  it('previews a shadow document as if enforced', () => {
    const enforced = policyEffect(policyOf({ rules: [tobacco] }), universe, M);
    const shadow = policyEffect(policyOf({ mode: 'shadow', rules: [tobacco] }), universe, M);
    expect(shadow).toEqual(enforced);
  });
});

describe('run report', () => {
  it('keeps rule ids only for the ids some rule touched, keyed by universe position', () => {
    expect(sparseRuleIds([[], ['a'], [], ['a', 'b']])).toEqual({ '1': ['a'], '3': ['a', 'b'] });
  });

  it('is null without a policy and summarises an enforced one', () => {
    expect(policyRunReport(applyPolicy(null, universe, M), M)).toBeNull();
    const report = policyRunReport(applyPolicy(policyOf({ rules: [tobacco] }), universe, M), M);
    expect(report).toMatchObject({ mode: 'enforce', tradable: 8, excluded: 2, shadowResult: null, ruleCounts: [{ ruleId: 'tobacco', excluded: 2 }] });
  });

  it('in shadow mode serves everything and records what enforcing would have done', () => {
    const applied = applyPolicy(policyOf({ mode: 'shadow', rules: [tobacco, watch] }), universe, M);
    const report = policyRunReport(applied, M)!;
    expect(report).toMatchObject({ mode: 'shadow', tradable: 10, excluded: 0 });
    expect(report.ruleCounts.map((c) => [c.ruleId, c.excluded, c.observed])).toEqual([
      ['tobacco', 2, 0],
      ['watch', 0, 1],
    ]);
    expect(report.shadowResult).toEqual({ tradable: 8, excluded: 2, spearman: 1, excludedBy: { '0': ['tobacco'], '6': ['tobacco'] }, observedBy: { '2': ['watch'] } });
  });
});
