import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONSTRAINT_TOLERANCE, holdConstraints, sideKeptRank, type SignalConstraints } from '../../src/domain/policy/constraints.js';
import { applyPolicy, parsePolicy, type PolicyDocument } from '../../src/domain/policy/index.js';
import { tieKeptRank } from '../../src/domain/rank.js';
import type { UniverseRow } from '../../src/domain/universe.js';

/** Group means over the non-NaN values, summed plainly (independent of the solver's own bookkeeping). */
function plainGroupMeans(signal: ArrayLike<number>, groups: ArrayLike<number>): Map<number, number> {
  const sums = new Map<number, { sum: number; count: number }>();
  for (let i = 0; i < signal.length; i++) {
    if (Number.isNaN(signal[i])) continue;
    const entry = sums.get(groups[i]) ?? { sum: 0, count: 0 };
    entry.sum += signal[i];
    entry.count++;
    sums.set(groups[i], entry);
  }
  return new Map([...sums].map(([g, { sum, count }]) => [g, sum / count]));
}

function expectHeld(signal: Float64Array, constraints: SignalConstraints): void {
  for (let i = 0; i < signal.length; i++) {
    if (Number.isNaN(signal[i])) continue;
    if (constraints.longExcluded[i] === 1) expect(signal[i], `long-excluded ${i}`).toBeLessThanOrEqual(0);
    if (constraints.shortExcluded[i] === 1) expect(signal[i], `short-excluded ${i}`).toBeGreaterThanOrEqual(0);
  }
  for (const limit of constraints.limits) {
    for (const [g, mean] of plainGroupMeans(signal, limit.groups)) {
      expect(Math.abs(mean), `group ${g} mean`).toBeLessThanOrEqual(limit.maxAbsMean + CONSTRAINT_TOLERANCE);
    }
  }
}

const problem = fc.integer({ min: 2, max: 60 }).chain((n) =>
  fc.record({
    signal: fc.array(fc.oneof({ weight: 12, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(NaN) }), { minLength: n, maxLength: n }),
    sides: fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3), { minLength: n, maxLength: n }),
    limits: fc.array(
      fc.record({
        groups: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }),
        maxAbsMean: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 0.5, noNaN: true })),
      }),
      { maxLength: 2 },
    ),
  }),
);

type Problem = typeof problem extends fc.Arbitrary<infer T> ? T : never;

function constraintsOf(p: Problem): SignalConstraints {
  return {
    limits: p.limits.map((l) => ({ groups: Int32Array.from(l.groups), maxAbsMean: l.maxAbsMean })),
    longExcluded: Uint8Array.from(p.sides, (s) => s & 1),
    shortExcluded: Uint8Array.from(p.sides, (s) => (s >> 1) & 1),
  };
}

describe('holdConstraints', () => {
  it('holds every side limit, cap and neutralisation together, to 1e-9, on random signals, groups and sides', () => {
    fc.assert(
      fc.property(problem, (p) => {
        const constraints = constraintsOf(p);
        const start = Float64Array.from(p.signal);
        const held = holdConstraints(start, constraints);
        expect(held.held).toBe(true);
        expectHeld(held.signal, constraints);
        // ids outside T stay outside
        held.signal.forEach((v, i) => expect(Number.isNaN(v)).toBe(Number.isNaN(start[i])));
      }),
      { numRuns: 400 },
    );
  });

  it('is idempotent: a signal that holds them comes back as it was', () => {
    fc.assert(
      fc.property(problem, (p) => {
        const constraints = constraintsOf(p);
        const solved = holdConstraints(Float64Array.from(p.signal), constraints);
        expect(solved.held).toBe(true);
        const once = solved.signal;
        const twice = holdConstraints(once, constraints);
        expect(twice.changed).toBe(false);
        expect(Array.from(twice.signal)).toEqual(Array.from(once));
      }),
      { numRuns: 200 },
    );
  });

  it('on one grouping field gives the nearest point: one shift per group, clamped at the side limits', () => {
    // group 0: [2, 1, −0.5] with id 0 long-excluded, cap 0.1. Shift λ, clamp id 0 at 0: (0 + 1 + λ − 0.5 + λ)/3 = 0.1 → λ = −0.1;
    // group 1: [−1, 0.5], mean −0.25, shifted by 0.15 to the cap
    const constraints: SignalConstraints = {
      limits: [{ groups: Int32Array.of(0, 0, 0, 1, 1), maxAbsMean: 0.1 }],
      longExcluded: Uint8Array.of(1, 0, 0, 0, 0),
      shortExcluded: new Uint8Array(5),
    };
    const held = holdConstraints(Float64Array.of(2, 1, -0.5, -1, 0.5), constraints);
    const expected = [0, 0.9, -0.6, -0.85, 0.65];
    held.signal.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-12));
  });

  it('the plain sequence (cap, then side limits) breaks the cap; solved together it holds', () => {
    // Two sectors; the long-excluded ids are sector 0's longs. Cap first then clamp drags sector 0's mean far below −0.1.
    const signal = Float64Array.of(1.5, 1.2, 0.9, -0.3, -0.6, 0.4, -0.4, 0.2, -0.2);
    const groups = Int32Array.of(0, 0, 0, 0, 0, 1, 1, 1, 1);
    const long = Uint8Array.of(1, 1, 1, 0, 0, 0, 0, 0, 0);
    const capped = signal.map((v, i) => (groups[i] === 0 ? v - (0.54 - 0.1) : v));
    const sequential = capped.map((v, i) => (long[i] === 1 ? Math.min(v, 0) : v));
    expect(plainGroupMeans(sequential, groups).get(0)!).toBeLessThan(-0.1 - 0.1);
    const constraints: SignalConstraints = { limits: [{ groups, maxAbsMean: 0.1 }], longExcluded: long, shortExcluded: new Uint8Array(9) };
    expectHeld(holdConstraints(signal, constraints).signal, constraints);
  });

  it('a neutralisation and a cap on different fields converge together (alternating projections)', () => {
    const n = 400;
    const signal = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 1.5 + (i % 4 === 0 ? 0.8 : 0));
    const constraints: SignalConstraints = {
      limits: [
        { groups: Int32Array.from({ length: n }, (_, i) => i % 3), maxAbsMean: 0 },
        { groups: Int32Array.from({ length: n }, (_, i) => i % 4), maxAbsMean: 0.05 },
      ],
      longExcluded: Uint8Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0)),
      shortExcluded: Uint8Array.from({ length: n }, (_, i) => (i % 10 === 5 ? 1 : 0)),
    };
    const held = holdConstraints(signal, constraints);
    expect(held.held).toBe(true);
    expect(held.rounds).toBeGreaterThan(1);
    expectHeld(held.signal, constraints);
  });
});

describe('sideKeptRank', () => {
  it('is the tie-kept rank when that keeps the side limits', () => {
    const signal = Float64Array.of(-1, 2, 0, 0.5, NaN);
    const rank = sideKeptRank(signal, Uint8Array.of(1, 0, 0, 0, 0), new Uint8Array(5));
    expect(Array.from(rank)).toEqual(Array.from(tieKeptRank(signal)));
  });

  it('re-anchors S = 0 at 0.5 when more ids are short than long, keeping the order', () => {
    // plain ranks: −3, −2, −1 → 1/12, 3/12, 5/12; the two zeros → 8/12 (above the median); 2 → 11/12
    const signal = Float64Array.of(-3, -2, -1, 0, 0, 2);
    const long = Uint8Array.of(0, 0, 0, 1, 1, 0);
    const rank = sideKeptRank(signal, long, new Uint8Array(6));
    expect(tieKeptRank(signal)[3]).toBeGreaterThan(0.5);
    expect(rank[3]).toBe(0.5);
    expect(rank[4]).toBe(0.5);
    expect(Array.from(tieKeptRank(rank))).toEqual(Array.from(tieKeptRank(signal)));
    // negatives over (0, 0.5) in proportion to their plain ranks: anchor 4/6
    [1 / 12, 3 / 12, 5 / 12].forEach((r, i) => expect(Math.abs(rank[i] - (0.5 * r) / (4 / 6))).toBeLessThan(1e-15));
    expect(Math.abs(rank[5] - (0.5 + (0.5 * (11 / 12 - 4 / 6)) / (2 / 6)))).toBeLessThan(1e-15);
  });

  it('gives 0.5 to every tradable id when S has fewer than 2 distinct values', () => {
    expect(Array.from(sideKeptRank(Float64Array.of(0, 1e-12, NaN), new Uint8Array(3), new Uint8Array(3)))).toEqual([0.5, 0.5, NaN]);
  });
});

function row(id: string, sector: string, extra: Partial<UniverseRow> = {}): UniverseRow {
  return { id, sector, industry: null, country: null, tags: [], attributes: {}, ...extra };
}

function policyOf(input: Record<string, unknown>): PolicyDocument {
  const parsed = parsePolicy({ name: 'test', rules: [], ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

describe('applyPolicy with a cap and a long-side exclusion', () => {
  const n = 600;
  const universe = Array.from({ length: n }, (_, i) => row(`id${i}`, String(10 + (i % 6) * 5), { attributes: { coal: i % 5 === 0 ? 0.05 : 0 } }));
  const signal = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 78.233) * 1.2 + (i % 6 === 0 ? 0.3 : 0));
  const policy = policyOf({
    rules: [{ id: 'coal', match: { field: 'attributes.coal', op: 'gte', value: 0.01 }, action: { type: 'exclude', side: 'long' } }],
    groupCap: { by: 'sector', maxAbsMean: 0.1 },
  });

  it('publishes a sector tilt within the cap, long-excluded ids at or below neutral and not above the median rank', () => {
    const result = applyPolicy(policy, universe, signal);
    const sectors = Int32Array.from(universe, (r) => Number(r.sector));
    for (const mean of plainGroupMeans(result.signal, sectors).values()) expect(Math.abs(mean)).toBeLessThanOrEqual(0.1 + CONSTRAINT_TOLERANCE);
    universe.forEach((r, i) => {
      if (r.attributes.coal !== 0.05) return;
      expect(result.signal[i]).toBeLessThanOrEqual(0);
      expect(result.value[i]).toBeLessThanOrEqual(0.5);
    });
    expect(result.constraints).toMatchObject({ held: true, changed: true, conflict: null });
  });

  it('leaves S as neutralisation made it when the constraints already hold', () => {
    const loose = policyOf({ neutralize: { by: 'sector', proportion: 0.5 }, groupCap: { by: 'sector', maxAbsMean: 5 } });
    const result = applyPolicy(loose, universe, signal);
    const neutralOnly = applyPolicy(policyOf({ neutralize: { by: 'sector', proportion: 0.5 } }), universe, signal);
    expect(Array.from(result.signal)).toEqual(Array.from(neutralOnly.signal));
    expect(Array.from(result.value)).toEqual(Array.from(tieKeptRank(neutralOnly.signal)));
    expect(result.constraints).toMatchObject({ held: true, changed: false });
  });
});

describe('conflicts', () => {
  const universe = [row('a', '10'), row('b', '10'), row('c', '20'), row('d', '20')];
  const signal = Float64Array.of(1, 3, -2, 0.5);

  it('a long-side exclusion of every id under sector neutrality leaves no ordering: named', () => {
    const policy = policyOf({
      rules: [
        { id: 'watch', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } },
        { id: 'no-long', match: { field: 'id', op: 'exists' }, action: { type: 'exclude', side: 'long' } },
      ],
      neutralize: { by: 'sector' },
    });
    const result = applyPolicy(policy, universe, signal);
    expect(Array.from(result.signal)).toEqual([0, 0, 0, 0]);
    expect(Array.from(result.value)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(result.constraints!.conflict).toMatchObject({ parts: ['no-long', 'neutralize'], paths: ['rules[1]', 'neutralize'] });
    expect(result.constraints!.conflict!.message).toMatch(/no-long \(exclude long\), neutralize \(by sector, proportion 1\) leave fewer than 2 distinct tradable values/);
  });

  it('exclusions that leave one tradable id: the exclude rules are named', () => {
    const policy = policyOf({ rules: [{ id: 'most', match: { field: 'id', op: 'in', value: ['a', 'b', 'c'] }, action: { type: 'exclude' } }] });
    const conflict = applyPolicy(policy, universe, signal).constraints!.conflict;
    expect(conflict).toMatchObject({ parts: ['most'], paths: ['rules[0]'] });
    expect(conflict!.message).toMatch(/leave 1 tradable id \(most \(exclude both\)\)/);
  });

  it('a scale of 0 on every id: the rule that matched is named, one that matched nothing is not', () => {
    const policy = policyOf({
      rules: [
        { id: 'none', match: { field: 'sector', op: 'eq', value: '99' }, action: { type: 'scale', multiplier: 0 } },
        { id: 'zero', match: { field: 'id', op: 'exists' }, action: { type: 'scale', multiplier: 0 } },
      ],
    });
    expect(applyPolicy(policy, universe, signal).constraints!.conflict).toMatchObject({ parts: ['zero'], paths: ['rules[1]'] });
  });

  it('no conflict when some ordering survives', () => {
    const policy = policyOf({ rules: [{ id: 'no-long-a', match: { field: 'id', op: 'eq', value: 'a' }, action: { type: 'exclude', side: 'long' } }], neutralize: { by: 'sector' } });
    expect(applyPolicy(policy, universe, signal).constraints!.conflict).toBeNull();
  });
});
