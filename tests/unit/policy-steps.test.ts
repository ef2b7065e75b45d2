import { describe, expect, it } from 'vitest';
import { capGroupMeans, groupIndex, groupMeans, limitSides, neutralizeByGroup, scaleSignal } from '../../src/domain/policy/index.js';
import type { UniverseRow } from '../../src/domain/universe.js';

function row(id: string, sector: string | null, attributes: Record<string, number | string> = {}): UniverseRow {
  return { id, sector, industry: null, country: null, tags: [], attributes };
}

function expectClose(actual: Float64Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) expect(actual[i]).toBeNaN();
    else expect(Math.abs(actual[i] - e)).toBeLessThan(1e-12);
  });
}

describe('groupIndex', () => {
  it('numbers groups in order of appearance; null and empty share the missing group', () => {
    const universe = [row('a', '10'), row('b', '20'), row('c', '10'), row('d', null), row('e', '')];
    expect(Array.from(groupIndex(universe, 'sector'))).toEqual([0, 1, 0, 2, 2]);
  });

  it('keeps the number 3 and the string "3" apart in an attribute', () => {
    const universe = [row('a', null, { bucket: 3 }), row('b', null, { bucket: '3' }), row('c', null, { bucket: 3 }), row('d', null)];
    expect(Array.from(groupIndex(universe, 'attributes.bucket'))).toEqual([0, 1, 0, 2]);
  });
});

describe('groupMeans', () => {
  it('averages the non-NaN values of each group', () => {
    expectClose(groupMeans(Float64Array.of(1, 2, NaN, 6, NaN), Int32Array.of(0, 0, 0, 1, 2)), [1.5, 6, NaN]);
  });
});

describe('neutralizeByGroup', () => {
  const signal = Float64Array.of(1, 2, 3, 10, NaN);
  const groups = Int32Array.of(0, 0, 1, 1, 0);

  it('with proportion 1 demeans each group over the tradable ids', () => {
    expectClose(neutralizeByGroup(signal, groups, 1), [-0.5, 0.5, -3.5, 3.5, NaN]);
  });

  it('with proportion 0.5 removes half of each group mean', () => {
    expectClose(neutralizeByGroup(signal, groups, 0.5), [0.25, 1.25, -0.25, 6.75, NaN]);
  });

  it('with proportion 0 changes nothing', () => {
    expectClose(neutralizeByGroup(signal, groups, 0), [1, 2, 3, 10, NaN]);
  });

  it('refuses misaligned inputs', () => {
    expect(() => neutralizeByGroup(signal, Int32Array.of(0), 1)).toThrow(RangeError);
  });
});

describe('capGroupMeans', () => {
  it('shifts groups above +cap down and below −cap up to the bound, leaves the rest', () => {
    const signal = Float64Array.of(0.5, 0.1, -0.4, -0.6, 0.05, 0, NaN);
    const groups = Int32Array.of(0, 0, 1, 1, 2, 2, 0);
    const capped = capGroupMeans(signal, groups, 0.1);
    // means 0.3, −0.5, 0.025 → shifts −0.2, +0.4, 0
    expectClose(capped, [0.3, -0.1, 0, -0.2, 0.05, 0, NaN]);
    expectClose(groupMeans(capped, groups), [0.1, -0.1, 0.025]);
  });
});

describe('scaleSignal', () => {
  it('multiplies by the combined multipliers and blanks ids outside T', () => {
    expectClose(scaleSignal(Float64Array.of(1, 2, -3), Uint8Array.of(1, 0, 1), Float64Array.of(0.5, 1, 0.25)), [0.5, NaN, -0.75]);
  });
});

describe('limitSides', () => {
  it('clips longs to ≤ 0, shorts to ≥ 0, both to 0', () => {
    const signal = Float64Array.of(0.5, -0.5, 0.5, -0.5, 0.3, NaN);
    const long = Uint8Array.of(1, 1, 0, 0, 1, 1);
    const short = Uint8Array.of(0, 0, 1, 1, 1, 0);
    expectClose(limitSides(signal, long, short), [0, -0.5, 0.5, 0, 0, NaN]);
  });
});
