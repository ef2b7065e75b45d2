import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inverseNormalCdf } from '../../src/domain/gaussian.js';
import {
  decodeRankCodes,
  encodeRankCodes,
  gaussianOfCodes,
  gaussianRankOver,
  gaussianTable,
  pow15GaussianTable,
  preparedVector,
  rankCodes,
  rankCodesOver,
  regaussianizeOver,
  rerankMap,
} from '../../src/domain/prepared.js';
import { reference } from '../support/reference.js';

const { era } = reference;
const models = Object.keys(era.predictions);

function aligned(model: string): Float64Array {
  return Float64Array.from(era.ids, (id) => era.predictions[model][id] ?? NaN);
}

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = reference.tolerance): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) expect(actual[i], `index ${i}`).toBeNaN();
    else expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

const Φinv = inverseNormalCdf;

describe('rankCodes', () => {
  it('stores twice the average rank, 0 for an id not submitted', () => {
    const { codes, covered } = rankCodes(Float64Array.of(0.3, NaN, 0.1, 0.3, 0.2));
    expect(Array.from(codes)).toEqual([7, 0, 2, 7, 4]);
    expect(covered).toBe(4);
  });

  it('counts the ids covered by each reference model (delta misses id11)', () => {
    expect(models.map((model) => rankCodes(aligned(model)).covered)).toEqual([12, 12, 12, 11]);
    expect(rankCodes(aligned('delta')).codes[11]).toBe(0);
  });
});

describe('preparedVector', () => {
  it.each(models)('equals the reference prepared vector of %s', (model) => {
    const { codes, covered } = rankCodes(aligned(model));
    expectAllClose(preparedVector(codes, covered), era.prepared[model]);
  });

  it('is the same after an encode/decode round trip', () => {
    const { codes, covered } = rankCodes(aligned('beta'));
    expectAllClose(preparedVector(decodeRankCodes(encodeRankCodes(codes)), covered), era.prepared.beta);
  });

  it('gives 0 to a single covered id and to ids not covered', () => {
    expect(Array.from(preparedVector(Uint32Array.of(0, 2, 0), 1))).toEqual([0, 0, 0]);
  });
});

describe('encodeRankCodes / decodeRankCodes', () => {
  it('writes a width header padded to the width, then little-endian codes', () => {
    expect(Array.from(encodeRankCodes(Uint32Array.of(1, 2, 258)))).toEqual([2, 0, 1, 0, 2, 0, 2, 1]);
    expect(Array.from(encodeRankCodes(Uint32Array.of(65536, 3)))).toEqual([4, 0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 0]);
  });

  it('uses 16 bits while every code is below 65536', () => {
    const small = decodeRankCodes(encodeRankCodes(Uint32Array.of(65535, 0, 7)));
    expect(small).toBeInstanceOf(Uint16Array);
    expect(Array.from(small)).toEqual([65535, 0, 7]);
    const large = decodeRankCodes(encodeRankCodes(Uint32Array.of(65536, 0, 7)));
    expect(large).toBeInstanceOf(Uint32Array);
    expect(Array.from(large)).toEqual([65536, 0, 7]);
  });

  it('returns a view on an aligned buffer and a copy of an unaligned one', () => {
    const encoded = encodeRankCodes(Uint32Array.of(4, 2, 6));
    const view = decodeRankCodes(encoded);
    expect(view.buffer).toBe(encoded.buffer);
    const unaligned = new Uint8Array(encoded.length + 1).subarray(1);
    unaligned.set(encoded);
    const copy = decodeRankCodes(unaligned);
    expect(copy.buffer).not.toBe(unaligned.buffer);
    expect(Array.from(copy)).toEqual([4, 2, 6]);
  });

  it('round-trips an empty vector', () => {
    expect(decodeRankCodes(encodeRankCodes(new Uint32Array(0)))).toHaveLength(0);
  });

  it('rejects bytes that are not an encoded vector', () => {
    expect(() => decodeRankCodes(Uint8Array.of(3, 0, 0))).toThrow(RangeError);
    expect(() => decodeRankCodes(Uint8Array.of(2, 0, 1))).toThrow(RangeError);
    expect(() => decodeRankCodes(new Uint8Array(0))).toThrow(RangeError);
  });

  it('round-trips arbitrary codes', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 200_000 }), { maxLength: 50 }), (values) => {
        const codes = Uint32Array.from(values);
        expect(Array.from(decodeRankCodes(encodeRankCodes(codes)))).toEqual(values);
      }),
    );
  });
});

describe('gaussianTable', () => {
  it('maps code c to Φ⁻¹((c − 1) / 2m), 0 for code 0', () => {
    const table = gaussianTable(3);
    expect(table).toHaveLength(7);
    expect(table[0]).toBe(0);
    expect(table[2]).toBe(Φinv(1 / 6));
    expect(table[4]).toBe(0);
    expect(table[5]).toBe(Φinv(4 / 6));
    expect(table[6]).toBe(Φinv(5 / 6));
  });

  it('serves a single covered id', () => {
    expect(gaussianTable(1)[2]).toBe(0);
  });

  it('returns the cached table for the same m', () => {
    expect(gaussianTable(12)).toBe(gaussianTable(12));
  });

  it('still builds the right table after the cache has cycled', () => {
    const first = gaussianTable(2);
    for (let m = 100; m < 120; m++) gaussianTable(m);
    expect(Array.from(gaussianTable(2))).toEqual(Array.from(first));
  });
});

describe('pow15GaussianTable', () => {
  it('is power15 of the gaussian table', () => {
    const table = pow15GaussianTable(2);
    const a = -Φinv(1 / 4);
    expect(table).toHaveLength(5);
    expect(table[0]).toBe(0);
    expect(table[2]).toBeCloseTo(-(a ** 1.5), 15);
    expect(table[3]).toBe(0);
    expect(table[4]).toBeCloseTo(a ** 1.5, 15);
  });
});

describe('rerankMap and rankCodesOver', () => {
  // values 0.1 0.2 0.2 0.4 0.5 → codes 2 5 5 8 10
  const codes = Uint32Array.of(2, 5, 5, 8, 10);

  it('re-ranks among the masked ids by counting', () => {
    const mask = Uint8Array.of(0, 1, 1, 0, 1);
    const { map, covered } = rerankMap(codes, mask);
    expect(covered).toBe(3);
    expect(map[5]).toBe(3);
    expect(map[10]).toBe(6);
    expect(map[2]).toBe(0);
    expect(Array.from(rankCodesOver(codes, mask).codes)).toEqual([0, 3, 3, 0, 6]);
  });

  it('leaves out ids the submission does not cover', () => {
    const { codes: reranked, covered } = rankCodesOver(Uint32Array.of(0, 6, 2, 4), Uint8Array.of(1, 1, 1, 0));
    expect(Array.from(reranked)).toEqual([0, 4, 2, 0]);
    expect(covered).toBe(2);
  });

  it('gives nothing for an empty mask', () => {
    const { codes: reranked, covered } = rankCodesOver(codes, new Uint8Array(5));
    expect(Array.from(reranked)).toEqual([0, 0, 0, 0, 0]);
    expect(covered).toBe(0);
  });
});

describe('regaussianizeOver', () => {
  it('is the gaussianized rank among the masked covered ids, NaN elsewhere', () => {
    const { codes } = rankCodes(Float64Array.of(0.1, 0.2, 0.3, 0.4));
    expectAllClose(regaussianizeOver(codes, Uint8Array.of(1, 0, 1, 1)), [Φinv(1 / 6), NaN, 0, Φinv(5 / 6)]);
  });

  it('is all NaN over an empty mask', () => {
    expectAllClose(regaussianizeOver(Uint32Array.of(2, 4), new Uint8Array(2)), [NaN, NaN]);
  });

  it('equals ranking the raw values over the same ids', () => {
    const value = fc.oneof(fc.integer({ min: 0, max: 4 }).map((k) => k / 4), fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(NaN));
    const row = fc.tuple(value, fc.boolean());
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (rows) => {
        const values = Float64Array.from(rows, ([v]) => v);
        const mask = Uint8Array.from(rows, ([, kept]) => (kept ? 1 : 0));
        expectAllClose(regaussianizeOver(rankCodes(values).codes, mask), gaussianRankOver(values, mask), 1e-15);
      }),
    );
  });
});

describe('gaussianRankOver', () => {
  it('ranks the masked non-NaN values with ties kept', () => {
    const values = Float64Array.of(5, 1, NaN, 5, 9);
    expectAllClose(gaussianRankOver(values, Uint8Array.of(1, 1, 1, 1, 0)), [Φinv(4 / 6), Φinv(1 / 6), NaN, Φinv(4 / 6), NaN]);
  });
});

describe('gaussianOfCodes', () => {
  it('looks codes up among m ids, NaN for code 0', () => {
    expectAllClose(gaussianOfCodes(Uint16Array.of(0, 2, 3), 2), [NaN, Φinv(1 / 4), Φinv(2 / 4)]);
  });
});
